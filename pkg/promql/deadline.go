package promql

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// deadlineCtx is context.WithDeadline without a timer until one is needed.
// The engine and Graft's storage poll Err between nodes, series and
// batches rather than wait on Done, and arming and stopping a timer (with
// the allocations of a cancelable context) is a noticeable part of a short
// query. Err compares the clock with the deadline instead; the first call
// to Done creates the timer-backed context the type stands for, after
// which Err defers to it, so that Err and Done always agree.
type deadlineCtx struct {
	context.Context // the parent
	deadline        time.Time
	once            sync.Once
	timed           atomic.Pointer[timedCtx]
}

type timedCtx struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// wrap returns a context done at deadline or when parent is, as
// context.WithDeadline does, using c (which must be zero) when the parent
// ends later. release must be called once the context is no longer used.
func (c *deadlineCtx) wrap(parent context.Context, deadline time.Time) context.Context {
	if d, ok := parent.Deadline(); ok && !d.After(deadline) {
		return parent // the parent ends first: nothing to add
	}
	c.Context, c.deadline = parent, deadline
	return c
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *deadlineCtx) Done() <-chan struct{} {
	c.once.Do(func() {
		ctx, cancel := context.WithDeadline(c.Context, c.deadline)
		c.timed.Store(&timedCtx{ctx: ctx, cancel: cancel})
	})
	return c.timed.Load().ctx.Done()
}

func (c *deadlineCtx) Err() error {
	if t := c.timed.Load(); t != nil {
		return t.ctx.Err()
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	// time.Until reads only the monotonic clock (time.Now reads two).
	if time.Until(c.deadline) <= 0 {
		return context.DeadlineExceeded
	}
	return nil
}

// release stops the timer, if Done started one; no timer starts after it.
// It does nothing to a deadlineCtx that wrap did not use.
func (c *deadlineCtx) release() {
	c.once.Do(func() {})
	if t := c.timed.Load(); t != nil {
		t.cancel()
	}
}
