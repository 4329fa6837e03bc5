package promql

import (
	"context"
	"errors"
	"testing"
	"time"
)

func withDeadline(parent context.Context, deadline time.Time) (context.Context, func()) {
	c := &deadlineCtx{}
	return c.wrap(parent, deadline), c.release
}

func TestDeadlineCtxErrWithoutDone(t *testing.T) {
	ctx, release := withDeadline(context.Background(), time.Now().Add(20*time.Millisecond))
	defer release()
	if err := ctx.Err(); err != nil {
		t.Fatalf("before the deadline: got %v", err)
	}
	time.Sleep(30 * time.Millisecond)
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after the deadline: got %v, want DeadlineExceeded", err)
	}
}

func TestDeadlineCtxDone(t *testing.T) {
	ctx, release := withDeadline(context.Background(), time.Now().Add(20*time.Millisecond))
	defer release()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed at the deadline")
	}
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want DeadlineExceeded", err)
	}
}

func TestDeadlineCtxParentCanceled(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	ctx, release := withDeadline(parent, time.Now().Add(time.Hour))
	defer release()
	cancel()
	if err := ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want Canceled", err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the parent's cancellation")
	}
}

func TestDeadlineCtxEarlierParent(t *testing.T) {
	parent, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx, release := withDeadline(parent, time.Now().Add(time.Hour))
	defer release()
	if ctx != parent {
		t.Fatal("a parent that ends first should be used as is")
	}
}
