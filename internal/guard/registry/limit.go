package registry

import (
	"sync"

	"golang.org/x/time/rate"
)

// tokenRate bounds token requests per client address (password guessing).
var tokenRate = RateLimit{Rate: 20, Burst: 40}

// limiter keeps one token bucket per key.
type limiter struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

const maxLimiterKeys = 100_000

func newLimiter() *limiter { return &limiter{m: map[string]*rate.Limiter{}} }

func (l *limiter) allow(key string, rl RateLimit) bool {
	if rl.Rate <= 0 {
		return true
	}
	l.mu.Lock()
	lim := l.m[key]
	if lim == nil || lim.Limit() != rate.Limit(rl.Rate) || lim.Burst() != rl.Burst {
		if len(l.m) >= maxLimiterKeys {
			// Forget everyone rather than grow without bound.
			l.m = map[string]*rate.Limiter{}
		}
		lim = rate.NewLimiter(rate.Limit(rl.Rate), rl.Burst)
		l.m[key] = lim
	}
	l.mu.Unlock()
	return lim.Allow()
}

// allowRate applies the identity's rate limit: the first of its roles
// with a limit of its own, else the global one. Anonymous clients are
// limited per address.
func (g *Guard) allowRate(cfg *Config, st *reqState) bool {
	rl := cfg.RateLimit
	for _, role := range Roles {
		rr, ok := cfg.RoleRules[role]
		if ok && rr.RateLimit.Rate > 0 && hasRole(cfg.rolesOf(st.id.Name), role) {
			rl = rr.RateLimit
			break
		}
	}
	key := "id:" + st.id.Name
	if st.id.Name == Anonymous {
		key = "anon:" + st.ip.String()
	}
	return g.limiter.allow(key, rl)
}

func hasRole(roles []string, r string) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}
