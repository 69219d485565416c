package rules

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"

	"github.com/picket-cdr/picket/internal/policy"
	"github.com/picket-cdr/picket/internal/runtime/event"
)

// Decision memo: a rule's verdict depends only on the event fields its
// condition and exceptions read (the functions are deterministic), so for
// storms of alike events (the same connection again and again, the same
// program exec'd in a loop) the verdict is looked up, not re-evaluated. The
// fields a rule reads are found in its CEL syntax tree, through macros; a
// rule reading something that is unique per event (time, kernel_time_ns,
// proc.start) or a whole object is never memoised.

// memoMax bounds a memo's entries; a full memo starts over.
const memoMax = 8192

// accessor renders one field of an event for a memo key.
type accessor struct {
	path string
	get  func(ev *event.Event, b *strings.Builder)
}

// memo caches the verdicts of the memoisable rules of one event kind.
type memo struct {
	keyed *policy.Set // memoised rules
	rest  *policy.Set // rules evaluated every time
	acc   []accessor
	order map[*policy.CompiledRule]int

	mu sync.Mutex
	m  map[string][]*policy.CompiledRule
}

func newMemo(set *policy.Set, paths map[string][]string, order map[*policy.CompiledRule]int) *memo {
	union := map[string]bool{}
	keyed := map[string]bool{}
	for _, r := range set.Rules() {
		ps, ok := paths[r.ID]
		if !ok {
			continue
		}
		var accs []accessor
		for _, p := range ps {
			a, ok := newAccessor(p)
			if !ok {
				accs = nil
				break
			}
			accs = append(accs, a)
		}
		if accs == nil && len(ps) > 0 {
			continue
		}
		keyed[r.ID] = true
		for _, p := range ps {
			union[p] = true
		}
	}
	m := &memo{order: order, m: map[string][]*policy.CompiledRule{}}
	m.keyed = set.Select(func(r *policy.CompiledRule) bool { return keyed[r.ID] })
	m.rest = set.Select(func(r *policy.CompiledRule) bool { return !keyed[r.ID] })
	ps := make([]string, 0, len(union))
	for p := range union {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	for _, p := range ps {
		a, _ := newAccessor(p)
		m.acc = append(m.acc, a)
	}
	return m
}

func (m *memo) key(ev *event.Event) string {
	var b strings.Builder
	for _, a := range m.acc {
		a.get(ev, &b)
		b.WriteByte(0)
	}
	return b.String()
}

// eval returns the matching rules in rule order.
func (m *memo) eval(ev *event.Event, evalSet func(*policy.Set) ([]*policy.CompiledRule, error)) ([]*policy.CompiledRule, error) {
	var hits []*policy.CompiledRule
	var errs error
	if len(m.keyed.Rules()) > 0 {
		k := m.key(ev)
		m.mu.Lock()
		cached, ok := m.m[k]
		m.mu.Unlock()
		if ok {
			hits = append(hits, cached...)
		} else {
			rs, err := evalSet(m.keyed)
			if err != nil {
				errs = err // not cached: evaluation errors are reported each time
			} else {
				m.mu.Lock()
				if len(m.m) >= memoMax {
					m.m = map[string][]*policy.CompiledRule{}
				}
				m.m[k] = rs
				m.mu.Unlock()
			}
			hits = append(hits, rs...)
		}
	}
	if len(m.rest.Rules()) > 0 {
		rs, err := evalSet(m.rest)
		if err != nil {
			errs = err
		}
		if len(rs) > 0 {
			hits = append(hits, rs...)
			slices.SortFunc(hits, func(a, b *policy.CompiledRule) int { return m.order[a] - m.order[b] })
		}
	}
	return hits, errs
}

// rulePaths returns the event fields a rule reads ("kind", "net.dst_ip",
// "proc_names", "container.labels" ...), or ok=false when it cannot tell.
func rulePaths(env *cel.Env, r *policy.CompiledRule, macros map[string]string, lists map[string]bool) ([]string, bool) {
	paths := map[string]bool{}
	var walkSrc func(src string, depth int) bool
	walkSrc = func(src string, depth int) bool {
		if depth > 32 {
			return false
		}
		ast, iss := env.Parse(src)
		if iss != nil && iss.Err() != nil {
			return false
		}
		ok := true
		var walk func(e celast.Expr, bound map[string]bool)
		walk = func(e celast.Expr, bound map[string]bool) {
			if !ok {
				return
			}
			switch e.Kind() {
			case celast.IdentKind:
				n := e.AsIdent()
				switch {
				case bound[n] || lists[n]:
				case macros[n] != "":
					ok = ok && walkSrc(macros[n], depth+1)
				case slices.Contains(Variables, n):
					paths[n] = true
				}
			case celast.SelectKind:
				s := e.AsSelect()
				if op := s.Operand(); op.Kind() == celast.IdentKind && slices.Contains(Variables, op.AsIdent()) && !bound[op.AsIdent()] && macros[op.AsIdent()] == "" {
					paths[op.AsIdent()+"."+s.FieldName()] = true
					return
				}
				walk(s.Operand(), bound)
			case celast.CallKind:
				c := e.AsCall()
				if c.IsMemberFunction() {
					walk(c.Target(), bound)
				}
				for _, a := range c.Args() {
					walk(a, bound)
				}
			case celast.ListKind:
				for _, el := range e.AsList().Elements() {
					walk(el, bound)
				}
			case celast.MapKind:
				for _, en := range e.AsMap().Entries() {
					me := en.AsMapEntry()
					walk(me.Key(), bound)
					walk(me.Value(), bound)
				}
			case celast.StructKind:
				for _, f := range e.AsStruct().Fields() {
					walk(f.AsStructField().Value(), bound)
				}
			case celast.ComprehensionKind:
				c := e.AsComprehension()
				walk(c.IterRange(), bound)
				walk(c.AccuInit(), bound)
				inner := map[string]bool{c.IterVar(): true, c.AccuVar(): true}
				if c.HasIterVar2() {
					inner[c.IterVar2()] = true
				}
				for k := range bound {
					inner[k] = true
				}
				walk(c.LoopCondition(), inner)
				walk(c.LoopStep(), inner)
				walk(c.Result(), inner)
			}
		}
		walk(ast.NativeRep().Expr(), map[string]bool{})
		return ok
	}
	if !walkSrc(r.Condition, 0) {
		return nil, false
	}
	for _, ex := range r.Exceptions {
		if !walkSrc(ex.Expr, 0) {
			return nil, false
		}
	}
	out := make([]string, 0, len(paths))
	for p := range paths {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, true
}

// scalarVars are the top-level variables a key can hold.
var scalarVars = map[string]func(ev *event.Event, b *strings.Builder){
	"kind":      func(ev *event.Event, b *strings.Builder) { b.WriteString(string(ev.Kind)) },
	"sensor":    func(ev *event.Event, b *strings.Builder) { b.WriteString(ev.Sensor) },
	"ret":       func(ev *event.Event, b *strings.Builder) { b.WriteString(strconv.FormatInt(ev.Ret, 10)) },
	"exit_code": func(ev *event.Event, b *strings.Builder) { b.WriteString(strconv.Itoa(int(ev.ExitCode))) },
	"signal":    func(ev *event.Event, b *strings.Builder) { b.WriteString(strconv.Itoa(int(ev.Signal))) },
	"proc_names": func(ev *event.Event, b *strings.Builder) {
		for _, n := range procNames(&ev.Proc) {
			b.WriteString(n)
			b.WriteByte(1)
		}
	},
}

// newAccessor builds the key renderer of a path; ok is false for paths
// whose values are unique per event or not renderable.
func newAccessor(path string) (accessor, bool) {
	if f, ok := scalarVars[path]; ok {
		return accessor{path, f}, true
	}
	v, field, ok := strings.Cut(path, ".")
	if !ok {
		return accessor{}, false // a whole object, time, kernel_time_ns
	}
	typ, get := objectOf(v)
	if typ == nil {
		return accessor{}, false
	}
	sf, ok := fieldByJSONType(typ, field)
	if !ok {
		return accessor{}, false
	}
	if sf.Type.String() == "time.Time" {
		return accessor{}, false
	}
	render, ok := renderer(sf.Type)
	if !ok {
		return accessor{}, false
	}
	idx := sf.Index
	return accessor{path, func(ev *event.Event, b *strings.Builder) {
		obj := get(ev)
		if !obj.IsValid() {
			return
		}
		render(obj.FieldByIndex(idx), b)
	}}, true
}

// objectOf returns the struct type of a variable and how to reach it
// (invalid Value when absent).
func objectOf(v string) (reflect.Type, func(*event.Event) reflect.Value) {
	ptr := func(f func(*event.Event) any) func(*event.Event) reflect.Value {
		return func(ev *event.Event) reflect.Value {
			rv := reflect.ValueOf(f(ev))
			if rv.IsNil() {
				return reflect.Value{}
			}
			return rv.Elem()
		}
	}
	switch v {
	case "proc":
		return reflect.TypeOf(event.Process{}), func(ev *event.Event) reflect.Value { return reflect.ValueOf(&ev.Proc).Elem() }
	case "container":
		return reflect.TypeOf(event.Container{}), func(ev *event.Event) reflect.Value { return reflect.ValueOf(&ev.Container).Elem() }
	case "net":
		return reflect.TypeOf(event.Net{}), ptr(func(ev *event.Event) any { return ev.Net })
	case "file":
		return reflect.TypeOf(event.File{}), ptr(func(ev *event.Event) any { return ev.File })
	case "dup":
		return reflect.TypeOf(event.Dup{}), ptr(func(ev *event.Event) any { return ev.Dup })
	case "cred":
		return reflect.TypeOf(event.Cred{}), ptr(func(ev *event.Event) any { return ev.Cred })
	case "ptrace":
		return reflect.TypeOf(event.Ptrace{}), ptr(func(ev *event.Event) any { return ev.Ptrace })
	case "module":
		return reflect.TypeOf(event.Module{}), ptr(func(ev *event.Event) any { return ev.Module })
	case "mount":
		return reflect.TypeOf(event.Mount{}), ptr(func(ev *event.Event) any { return ev.Mount })
	case "ns":
		return reflect.TypeOf(event.NS{}), ptr(func(ev *event.Event) any { return ev.NS })
	case "integrity":
		return reflect.TypeOf(event.Integrity{}), ptr(func(ev *event.Event) any { return ev.Integrity })
	}
	return nil, nil
}

func fieldByJSONType(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if n, _, _ := strings.Cut(f.Tag.Get("json"), ","); n == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// renderer writes a field value unambiguously (lengths before contents).
func renderer(t reflect.Type) (func(reflect.Value, *strings.Builder), bool) {
	switch t.Kind() {
	case reflect.String:
		return func(v reflect.Value, b *strings.Builder) {
			s := v.String()
			b.WriteString(strconv.Itoa(len(s)))
			b.WriteByte(':')
			b.WriteString(s)
		}, true
	case reflect.Bool:
		return func(v reflect.Value, b *strings.Builder) {
			if v.Bool() {
				b.WriteByte('t')
			} else {
				b.WriteByte('f')
			}
		}, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(v reflect.Value, b *strings.Builder) { b.WriteString(strconv.FormatInt(v.Int(), 10)) }, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return func(v reflect.Value, b *strings.Builder) { b.WriteString(strconv.FormatUint(v.Uint(), 10)) }, true
	case reflect.Slice:
		el, ok := renderer(t.Elem())
		if !ok {
			return nil, false
		}
		return func(v reflect.Value, b *strings.Builder) {
			b.WriteString(strconv.Itoa(v.Len()))
			b.WriteByte('[')
			for i := 0; i < v.Len(); i++ {
				el(v.Index(i), b)
				b.WriteByte(',')
			}
		}, true
	case reflect.Map:
		if t.Key().Kind() != reflect.String || t.Elem().Kind() != reflect.String {
			return nil, false
		}
		return func(v reflect.Value, b *strings.Builder) {
			m := v.Interface().(map[string]string)
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			b.WriteString(strconv.Itoa(len(keys)))
			b.WriteByte('{')
			for _, k := range keys {
				fmt.Fprintf(b, "%d:%s=%d:%s,", len(k), k, len(m[k]), m[k])
			}
		}, true
	case reflect.Struct:
		var fields []func(reflect.Value, *strings.Builder)
		for i := 0; i < t.NumField(); i++ {
			if !t.Field(i).IsExported() {
				continue
			}
			r, ok := renderer(t.Field(i).Type)
			if !ok {
				return nil, false
			}
			i := i
			fields = append(fields, func(v reflect.Value, b *strings.Builder) { r(v.Field(i), b) })
		}
		return func(v reflect.Value, b *strings.Builder) {
			for _, f := range fields {
				f(v, b)
				b.WriteByte(';')
			}
		}, true
	}
	return nil, false
}
