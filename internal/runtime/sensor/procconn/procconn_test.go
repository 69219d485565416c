//go:build linux

package procconn

import (
	"encoding/binary"
	"errors"
	"testing"
)

// msg builds one netlink message carrying a cn_msg proc_event.
func msg(idx uint32, what uint32, ts uint64, fields ...uint32) []byte {
	ev := make([]byte, procEventHdr+4*len(fields))
	binary.NativeEndian.PutUint32(ev, what)
	binary.NativeEndian.PutUint64(ev[8:], ts)
	for i, f := range fields {
		binary.NativeEndian.PutUint32(ev[procEventHdr+4*i:], f)
	}
	b := make([]byte, nlmsgHdrLen+cnMsgLen+len(ev))
	binary.NativeEndian.PutUint32(b, uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], 3) // NLMSG_DONE
	binary.NativeEndian.PutUint32(b[16:], idx)
	binary.NativeEndian.PutUint32(b[20:], cnValProc)
	binary.NativeEndian.PutUint16(b[32:], uint16(len(ev)))
	copy(b[nlmsgHdrLen+cnMsgLen:], ev)
	return b
}

func TestParseMessages(t *testing.T) {
	var dgram []byte
	dgram = append(dgram, msg(cnIdxProc, evFork, 5, 10, 10, 11, 11)...)
	dgram = append(dgram, msg(cnIdxProc, evExec, 6, 11, 11)...)
	dgram = append(dgram, msg(cnIdxProc, evUID, 7, 11, 11, 1000, 0)...)
	dgram = append(dgram, msg(cnIdxProc, evPtrace, 8, 12, 12, 11, 11)...)
	dgram = append(dgram, msg(cnIdxProc, evExit, 9, 11, 11, 256, 17, 10, 10)...)
	dgram = append(dgram, msg(99, evExec, 10, 1, 1)...)               // another connector: skipped
	dgram = append(dgram, msg(cnIdxProc, 0x12345, 11, 1, 2, 3, 4)...) // future event: kept as What only
	got, err := ParseMessages(dgram)
	if err != nil {
		t.Fatal(err)
	}
	want := []Message{
		{What: evFork, Timestamp: 5, PID: 10, TGID: 10, ChildPID: 11, ChildTGID: 11},
		{What: evExec, Timestamp: 6, PID: 11, TGID: 11},
		{What: evUID, Timestamp: 7, PID: 11, TGID: 11, RUID: 1000, EUID: 0},
		{What: evPtrace, Timestamp: 8, PID: 12, TGID: 12, TracerPID: 11, TracerTGID: 11},
		{What: evExit, Timestamp: 9, PID: 11, TGID: 11, ExitCode: 256, ExitSignal: 17, ParentPID: 10, ParentTGID: 10},
		{What: 0x12345, Timestamp: 11},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseMessagesMalformed(t *testing.T) {
	good := msg(cnIdxProc, evExec, 1, 2, 2)
	tests := map[string][]byte{
		"short header":  good[:10],
		"length beyond": func() []byte { b := append([]byte(nil), good...); binary.NativeEndian.PutUint32(b, 1000); return b }(),
		"cn_msg short": func() []byte {
			b := append([]byte(nil), good[:nlmsgHdrLen+8]...)
			binary.NativeEndian.PutUint32(b, uint32(len(b)))
			return b
		}(),
		"data len":    func() []byte { b := append([]byte(nil), good...); binary.NativeEndian.PutUint16(b[32:], 500); return b }(),
		"event short": msg(cnIdxProc, evFork, 1, 2),
	}
	for name, b := range tests {
		if _, err := ParseMessages(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func FuzzParseMessages(f *testing.F) {
	f.Add(msg(cnIdxProc, evExit, 9, 11, 11, 256, 17, 10, 10))
	f.Add(msg(cnIdxProc, evComm, 9, 11, 11, 0x41414141, 0x42, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := ParseMessages(b)
		if err == nil && len(ms) > len(b)/(nlmsgHdrLen+cnMsgLen) {
			t.Fatalf("%d messages from %d bytes", len(ms), len(b))
		}
	})
}
