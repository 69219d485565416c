package agent

import (
	"github.com/picket-cdr/picket/internal/runtime/sensor"
	"github.com/picket-cdr/picket/internal/runtime/sensor/ebpf"
)

// ExtraWatches are paths the agent's rules need beyond the sensor's
// defaults: cgroup files (release_agent, notify_on_release: the cgroup v1
// escape).
var ExtraWatches = []ebpf.Watch{
	{Prefix: "/sys/fs/cgroup/", Write: true},
}

// SensorOptions are the sensor options the agent's rules need, followed by
// opts.
func SensorOptions(opts ...sensor.Option) []sensor.Option {
	ws := append(append([]ebpf.Watch(nil), ebpf.DefaultWatches...), ExtraWatches...)
	return append([]sensor.Option{sensor.WithEBPF(ebpf.WithWatches(ws))}, opts...)
}
