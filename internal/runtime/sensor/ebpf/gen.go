package ebpf

// The BPF object is compiled from bpf/picket.bpf.c by bpf2go; its output
// (picket_x86_bpfel.go/.o) is committed so building needs no clang.
// Regenerate with `make bpf` (needs clang, llvm-strip, libbpf-dev).
//
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -cflags "-O2 -g -Wall" -target amd64 -type hdr -type exec_event -type fork_event -type exit_event -type sys_event -type open_event -type sock_info -type path_parts -type watch_key -type name_key picket ../../../../bpf/picket.bpf.c -- -I../../../../bpf
