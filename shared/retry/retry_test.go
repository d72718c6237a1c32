package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDelayDoublesUpToTheCap(t *testing.T) {
	p := Policy{Base: time.Second, Max: 256 * time.Second}
	for n, want := range []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 256, 256} {
		if got := p.Delay(n); got != want*time.Second {
			t.Errorf("Delay(%d) = %v, want %v", n, got, want*time.Second)
		}
	}
	if got := p.Delay(1 << 20); got != 256*time.Second {
		t.Errorf("Delay of a huge attempt = %v, want the cap", got)
	}
	constant := Policy{Base: time.Second, Max: time.Second}
	for n := range 5 {
		if got := constant.Delay(n); got != time.Second {
			t.Errorf("constant Delay(%d) = %v", n, got)
		}
	}
	if got := (Policy{Base: time.Second}).Delay(200); got <= 0 {
		t.Errorf("uncapped Delay(200) = %v: overflowed", got)
	}
}

func TestJitterAddsUpToItsFraction(t *testing.T) {
	p := Policy{Base: time.Second, Max: 4 * time.Second, Jitter: 0.5}
	seen := map[time.Duration]bool{}
	for range 200 {
		d := p.Delay(3) // capped at 4 s
		if d < 4*time.Second || d >= 6*time.Second {
			t.Fatalf("Delay(3) = %v, want [4s, 6s)", d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Fatal("jitter never varied")
	}
}

var errTry = errors.New("try failed")

func TestDoStopsAtTheAttempts(t *testing.T) {
	tries := 0
	err := Policy{Base: time.Microsecond, Attempts: 3}.Do(context.Background(), nil, func() error { tries++; return errTry })
	if !errors.Is(err, errTry) || tries != 3 {
		t.Fatalf("err = %v after %d tries, want errTry after 3", err, tries)
	}
}

func TestDoStopsOnAnErrorNotWorthARetry(t *testing.T) {
	final := errors.New("final")
	tries := 0
	err := Policy{Base: time.Microsecond}.Do(context.Background(), func(err error) bool { return !errors.Is(err, final) }, func() error {
		if tries++; tries < 3 {
			return errTry
		}
		return final
	})
	if !errors.Is(err, final) || tries != 3 {
		t.Fatalf("err = %v after %d tries, want final after 3", err, tries)
	}
}

func TestDoSucceeds(t *testing.T) {
	tries := 0
	err := Policy{Base: time.Microsecond, Attempts: 10}.Do(context.Background(), nil, func() error {
		if tries++; tries < 4 {
			return errTry
		}
		return nil
	})
	if err != nil || tries != 4 {
		t.Fatalf("err = %v after %d tries, want nil after 4", err, tries)
	}
}

func TestDoStartsNoWaitPastWithin(t *testing.T) {
	tries := 0
	start := time.Now()
	err := Policy{Base: time.Hour, Within: time.Minute}.Do(context.Background(), nil, func() error { tries++; return errTry })
	if !errors.Is(err, errTry) || tries != 1 || time.Since(start) > 10*time.Second {
		t.Fatalf("err = %v after %d tries and %v, want errTry at once", err, tries, time.Since(start))
	}
}

// A cancelled context ends a wait at once, with the last try's error.
func TestDoEndsMidWaitWhenTheContextDoes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	tries := 0
	start := time.Now()
	err := Policy{Base: time.Hour}.Do(ctx, nil, func() error { tries++; return errTry })
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Do took %v after its context was cancelled", took)
	}
	if !errors.Is(err, errTry) || tries != 1 {
		t.Fatalf("err = %v after %d tries, want errTry after 1", err, tries)
	}
}

func TestSleep(t *testing.T) {
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second {
		t.Fatalf("Sleep on a cancelled context: %v after %v", err, time.Since(start))
	}
}
