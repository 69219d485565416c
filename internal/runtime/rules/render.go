package rules

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/picket-cdr/picket/internal/runtime/event"
)

// field returns the event field at a dotted json path ("proc.exe",
// "container.name", "net.dst_port") formatted for a message.
func field(ev *event.Event, name string) (string, bool) {
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
