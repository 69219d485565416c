package rules

import (
	"fmt"
	"path"
	"reflect"
	"strings"

	"github.com/picket-cdr/picket/internal/runtime/event"
)

// field returns the event field at a dotted json path ("proc.exe",
// "container.name", "net.dst_port") formatted for a message.
//
// Two names are computed: proc.name, the program's name (argv[0]'s base
// name when the comm is "exe", a busybox applet re-executed through
// /proc/self/exe), and where, "container NAME (IMAGE)" or "the host".
func field(ev *event.Event, name string) (string, bool) {
	switch name {
	case "proc.name":
		return ProcName(&ev.Proc), true
	case "where":
		c := ev.Container
		switch {
		case c.Host:
			return "the host", true
		case c.Name != "":
			return "container " + c.Name + " (" + c.Image + ")", true
		case c.ID != "":
			return "container " + c.ID, true
		}
		return "an unattributed process", true
	}
	v := reflect.ValueOf(ev).Elem()
	for _, part := range strings.Split(name, ".") {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return "", true // an absent part renders empty
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return "", false
		}
		f, ok := fieldByJSON(v, part)
		if !ok {
			return "", false
		}
		v = f
	}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "", true
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = fmt.Sprint(v.Index(i).Interface())
		}
		return strings.Join(parts, " "), true
	case reflect.Struct, reflect.Map:
		return "", false
	}
	return fmt.Sprint(v.Interface()), true
}

func fieldByJSON(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("json")
		if n, _, _ := strings.Cut(tag, ","); n == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// ProcName is the name a process goes by: its comm, or argv[0]'s base name
// when the comm says nothing ("exe": re-executed through /proc/self/exe).
func ProcName(p *event.Process) string {
	if (p.Comm == "" || p.Comm == "exe") && len(p.Args) > 0 && p.Args[0] != "" {
		return path.Base(p.Args[0])
	}
	if p.Comm == "" && p.Exe != "" {
		return path.Base(p.Exe)
	}
	return p.Comm
}
