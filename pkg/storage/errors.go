package storage

// ErrSeriesSet is a SeriesSet that yields nothing but an error.
type ErrSeriesSet struct{ Error error }

// Next implements SeriesSet.
func (ErrSeriesSet) Next() bool { return false }

// At implements SeriesSet.
func (ErrSeriesSet) At() Series { return nil }

// Err implements SeriesSet.
func (e ErrSeriesSet) Err() error { return e.Error }

// EmptySeriesSet returns a SeriesSet with no series.
func EmptySeriesSet() SeriesSet { return ErrSeriesSet{} }
