// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Picket runtime sensor: process, network, file and privilege events from
 * raw tracepoints (sched_process_exec/fork/exit, sys_enter/sys_exit),
 * delivered through one BPF ring buffer. CO-RE: every kernel structure is
 * read with BPF_CORE_READ so one object runs on any BTF-enabled kernel.
 *
 * Only raw tracepoints are used: on the reference kernel kprobes, fentry
 * (BPF_PROG_TYPE_TRACING) and BPF-LSM do not load, and raw_tp needs neither
 * tracefs nor BTF program types.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#include "picket.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* ---- maps ---------------------------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by the loader */
} events SEC(".maps");

/* drops[0] counts ring-buffer reservations that failed, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* syscall number -> OP_* (0: not watched). Filled by the loader from the
 * architecture's syscall table. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SYSCALL_NR);
	__type(key, __u32);
	__type(value, __u32);
} syscall_ops SEC(".maps");

/* Syscall in flight: filled at sys_enter, completed and sent at sys_exit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU); /* per-CPU LRU lists: no global lock */
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct sys_event);
} inflight SEC(".maps");

/* Scratch space (too big for the 512-byte BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sys_event);
} scratch SEC(".maps");

/* Watched path prefixes for open/openat: longest prefix wins; value is
 * WATCH_READ and/or WATCH_WRITE. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct watch_key);
	__type(value, __u32);
} watch_paths SEC(".maps");

/* Watched file names (any directory): WATCH_READ and/or WATCH_WRITE. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct name_key);
	__type(value, __u32);
} watch_names SEC(".maps");

/* Set by the loader before load. */
const volatile __u32 self_tgid = 0;        /* never report the sensor itself */
const volatile __u32 relative_opens = 1;   /* forward relative-path opens */
/* Wake the reader only once this many bytes wait in the ring buffer (it
 * also polls on a short timer); 0: the kernel's default, a wakeup whenever
 * the reader has caught up, i.e. about one per record at low rates. */
const volatile __u64 wakeup_bytes = 0;

/* ---- helpers ------------------------------------------------------------- */

static __always_inline __u64 rb_flags(void)
{
	if (!wakeup_bytes)
		return 0;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&drops, &zero);
	if (n)
		*n += 1;
}

static __always_inline void fill_hdr(struct hdr *h, __u32 kind, struct task_struct *t)
{
	__u64 pidtgid = bpf_get_current_pid_tgid();
	__u64 uidgid = bpf_get_current_uid_gid();

	h->ktime = bpf_ktime_get_ns();
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->ret = 0;
	h->kind = kind;
	h->pid = pidtgid >> 32;
	h->tid = (__u32)pidtgid;
	h->ppid = BPF_CORE_READ(t, real_parent, tgid);
	h->uid = (__u32)uidgid;
	h->gid = uidgid >> 32;
	h->euid = BPF_CORE_READ(t, cred, euid.val);
	h->egid = BPF_CORE_READ(t, cred, egid.val);
	h->mnt_ns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
	h->pid_ns = BPF_CORE_READ(t, nsproxy, pid_ns_for_children, ns.inum);
	h->flags = 0;
	if (BPF_CORE_READ(t, signal, tty))
		h->flags |= HDR_TTY;
	h->start_time = BPF_CORE_READ(t, group_leader, start_time);
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* walk_path records the components of p from the leaf up, crossing mount
 * points, into out (user space reverses them). A pseudo file (memfd, pipe,
 * socket) is one component with PATH_PSEUDO set. */
static __always_inline void walk_path(const struct path *p, struct path_parts *out)
{
	struct dentry *d = BPF_CORE_READ(p, dentry);
	struct vfsmount *vm = BPF_CORE_READ(p, mnt);
	struct mount *m = (void *)vm - bpf_core_field_offset(struct mount, mnt);
	__u32 depth = 0;

	out->depth = 0;
	out->flags = 0;
#pragma unroll
	for (int i = 0; i < PATH_DEPTH * 2; i++) {
		struct dentry *parent = BPF_CORE_READ(d, d_parent);
		struct dentry *mroot = BPF_CORE_READ(vm, mnt_root);
		if (d == mroot) {
			struct mount *mp = BPF_CORE_READ(m, mnt_parent);
			if (mp == m)
				break; /* root of the mount namespace */
			d = BPF_CORE_READ(m, mnt_mountpoint);
			m = mp;
			vm = (void *)mp + bpf_core_field_offset(struct mount, mnt);
			continue;
		}
		if (depth >= PATH_DEPTH) {
			out->flags |= PATH_TRUNCATED;
			break;
		}
		const unsigned char *name = BPF_CORE_READ(d, d_name.name);
		bpf_probe_read_kernel_str(out->name[depth & (PATH_DEPTH - 1)], PATH_NAME_LEN, name);
		depth++;
		if (d == parent) {
			out->flags |= PATH_PSEUDO; /* disconnected: memfd, anon inode */
			break;
		}
		d = parent;
	}
	out->depth = depth;
}

static __always_inline struct file *fd_file(struct task_struct *t, long fd)
{
	struct file **fds = BPF_CORE_READ(t, files, fdt, fd);
	unsigned int max = BPF_CORE_READ(t, files, fdt, max_fds);
	struct file *f = NULL;

	if (fd < 0 || fd >= max)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline int file_is_socket(struct file *f)
{
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	return (mode & S_IFMT) == S_IFSOCK;
}

/* fill_sock copies the addresses of the socket behind file f. */
static __always_inline void fill_sock(struct file *f, struct sock_info *si)
{
	if (!f || !file_is_socket(f))
		return;
	struct socket *so = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(so, sk);
	if (!sk)
		return;
	si->valid = 1;
	si->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	si->type = BPF_CORE_READ(sk, sk_type);
	si->protocol = BPF_CORE_READ(sk, sk_protocol);
	si->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	si->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (si->family == AF_INET) {
		BPF_CORE_READ_INTO((__u32 *)si->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)si->daddr, sk, __sk_common.skc_daddr);
	} else if (si->family == AF_INET6) {
		BPF_CORE_READ_INTO(&si->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&si->daddr, sk, __sk_common.skc_v6_daddr);
	}
}

static __always_inline int should_skip(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	return self_tgid != 0 && tgid == self_tgid;
}

/* ---- process lifecycle --------------------------------------------------- */

/* sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) */
SEC("raw_tracepoint/sched_process_exec")
int handle_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t = (void *)ctx->args[0];
	struct linux_binprm *bprm = (void *)ctx->args[2];
	struct exec_event *e;

	if (should_skip())
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	fill_hdr(&e->h, KIND_EXEC, t);
	e->exec_flags = 0;

	const char *fname = BPF_CORE_READ(bprm, filename);
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), fname);

	/* argv lives on the new user stack: mm->arg_start..arg_end. */
	unsigned long as = BPF_CORE_READ(t, mm, arg_start);
	unsigned long ae = BPF_CORE_READ(t, mm, arg_end);
	unsigned long n = ae - as;
	if (ae > as) {
		if (n > ARGS_LEN) {
			n = ARGS_LEN;
			e->exec_flags |= EXEC_ARGS_TRUNCATED;
		}
		barrier_var(n);
		if (n > ARGS_LEN)
			n = ARGS_LEN;
		barrier_var(n);
		n &= 2 * ARGS_LEN - 1; /* a bound the verifier can see */
		if (bpf_probe_read_user(e->args, n, (void *)as) < 0)
			n = 0;
	} else {
		n = 0;
	}
	e->args_len = n;

	struct file *f = BPF_CORE_READ(bprm, file);
	walk_path(__builtin_preserve_access_index(&f->f_path), &e->exe);
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	if (BPF_CORE_READ(ino, __i_nlink) == 0)
		e->exec_flags |= EXEC_DELETED;
	unsigned long magic = BPF_CORE_READ(ino, i_sb, s_magic);
	if (magic == OVERLAYFS_SUPER_MAGIC) {
		e->exec_flags |= EXEC_OVERLAY;
		/* struct ovl_inode embeds the VFS inode; __upperdentry is set when
		 * the file exists in the upper (container-writable) layer:
		 * created there, or copied up because it was modified. */
		struct ovl_inode *oi = (void *)ino - bpf_core_field_offset(struct ovl_inode, vfs_inode);
		if (BPF_CORE_READ(oi, __upperdentry))
			e->exec_flags |= EXEC_UPPER;
		if (BPF_CORE_READ(oi, oe))
			e->exec_flags |= EXEC_LOWER;
	}
	e->exe_magic = magic;
	e->exe_dev = BPF_CORE_READ(ino, i_sb, s_dev);
	e->exe_ino = BPF_CORE_READ(ino, i_ino);

	struct fs_struct *fs = BPF_CORE_READ(t, fs);
	walk_path(__builtin_preserve_access_index(&fs->pwd), &e->cwd);

	bpf_ringbuf_submit(e, rb_flags());
	return 0;
}

/* sched_process_fork(struct task_struct *parent, struct task_struct *child) */
SEC("raw_tracepoint/sched_process_fork")
int handle_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (void *)ctx->args[0];
	struct task_struct *child = (void *)ctx->args[1];
	struct fork_event *e;

	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0; /* a thread, not a process */
	if (should_skip())
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	fill_hdr(&e->h, KIND_FORK, parent);
	/* The header describes the parent (current); report the child. */
	e->h.ppid = e->h.pid;
	e->h.pid = BPF_CORE_READ(child, tgid);
	e->h.tid = BPF_CORE_READ(child, pid);
	e->h.start_time = BPF_CORE_READ(child, start_time);
	bpf_ringbuf_submit(e, rb_flags());
	return 0;
}

/* sched_process_exit(struct task_struct *p, ...): report the thread-group
 * exit only (the last thread, signal->live == 0). */
SEC("raw_tracepoint/sched_process_exit")
int handle_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t = (void *)ctx->args[0];
	struct exit_event *e;

	if (BPF_CORE_READ(t, signal, live.counter) != 0)
		return 0;
	if (should_skip())
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	fill_hdr(&e->h, KIND_EXIT, t);
	e->exit_code = BPF_CORE_READ(t, exit_code);
	e->_pad = 0;
	bpf_ringbuf_submit(e, rb_flags());
	return 0;
}

/* ---- syscalls ------------------------------------------------------------ */

static __always_inline int read_user_path(char *dst, const void *src)
{
	return bpf_probe_read_user_str(dst, PATH_LEN, src);
}

struct base_ctx {
	const char *path;
	__u32 last; /* index after the last '/' */
};

static long base_step(__u32 i, void *data)
{
	struct base_ctx *bc = data;
	char c = 0;

	c = bc->path[i & (PATH_LEN - 1)];
	if (c == 0)
		return 1; /* stop */
	if (c == '/')
		bc->last = i + 1;
	return 0;
}

/* open_watched decides in the kernel whether an open is worth reporting. */
static __always_inline int open_watched(struct sys_event *e, __u32 flags)
{
	int write = (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
	struct watch_key k = {};

	if (e->path[0] != '/') {
		if (!relative_opens)
			return 0;
		e->aux |= AUX_RELATIVE;
		return 1;
	}
	k.prefixlen = WATCH_KEY_LEN * 8;
	__builtin_memcpy(k.data, e->path, WATCH_KEY_LEN);
	__u32 *w = bpf_map_lookup_elem(&watch_paths, &k);
	if (w && ((*w & WATCH_READ) || (write && (*w & WATCH_WRITE))))
		return 1;
	/* Then the file name, in any directory (release_agent, id_rsa). The
	 * scan is a bpf_loop callback: verified once, not per iteration. */
	struct base_ctx bc = {.path = e->path, .last = 0};
	bpf_loop(PATH_LEN, base_step, &bc, 0);
	struct name_key nk = {};
	bpf_probe_read_kernel_str(nk.name, sizeof(nk.name), &e->path[bc.last & (PATH_LEN - 1)]);
	w = bpf_map_lookup_elem(&watch_names, &nk);
	return w && ((*w & WATCH_READ) || (write && (*w & WATCH_WRITE)));
}

SEC("raw_tracepoint/sys_enter")
int handle_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	long nr = ctx->args[1];
	__u32 key;
	__u32 *opp;

	if (nr < 0 || nr >= MAX_SYSCALL_NR)
		return 0;
	key = nr;
	opp = bpf_map_lookup_elem(&syscall_ops, &key);
	if (!opp || *opp == 0)
		return 0;
	if (should_skip())
		return 0;

	__u32 op = *opp;
	struct pt_regs *regs = (void *)ctx->args[0];
	__u64 a0 = PT_REGS_PARM1_CORE_SYSCALL(regs);
	__u64 a1 = PT_REGS_PARM2_CORE_SYSCALL(regs);
	__u64 a2 = PT_REGS_PARM3_CORE_SYSCALL(regs);
	__u64 a3 = PT_REGS_PARM4_CORE_SYSCALL(regs);
	__u64 a4 = PT_REGS_PARM5_CORE_SYSCALL(regs);
	struct task_struct *t = (void *)bpf_get_current_task();

	/* Cheap pre-filters on the arguments before any copy. */
	switch (op) {
	case OP_DUP2:
	case OP_DUP3:
		if (a1 > 2)
			return 0;
		break;
	case OP_CHMOD:
		if ((a1 & 0111) == 0)
			return 0;
		break;
	case OP_FCHMOD:
		if ((a1 & 0111) == 0)
			return 0;
		break;
	case OP_FCHMODAT:
	case OP_FCHMODAT2:
		if ((a2 & 0111) == 0)
			return 0;
		break;
	case OP_PTRACE:
		if (a0 != PTRACE_ATTACH && a0 != PTRACE_SEIZE && a0 != PTRACE_POKETEXT &&
		    a0 != PTRACE_POKEDATA && a0 != PTRACE_POKEUSER)
			return 0;
		break;
	}

	__u32 zero = 0;
	struct sys_event *e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	fill_hdr(&e->h, KIND_SYSCALL, t);
	e->op = op;
	e->nr = key;
	e->args[0] = a0;
	e->args[1] = a1;
	e->args[2] = a2;
	e->args[3] = a3;
	e->args[4] = a4;
	e->aux = 0;
	e->addr_len = 0;
	e->path[0] = 0;
	e->path2[0] = 0;
	__builtin_memset(&e->sock, 0, sizeof(e->sock));

	switch (op) {
	case OP_CONNECT:
	case OP_BIND: {
		__u32 len = a2;
		barrier_var(len);
		if (len > ADDR_LEN)
			len = ADDR_LEN;
		barrier_var(len);
		len &= 2 * ADDR_LEN - 1; /* a bound the verifier can see */
		if (bpf_probe_read_user(e->addr, len, (void *)a1) == 0)
			e->addr_len = len;
		break;
	}
	case OP_ACCEPT:
	case OP_ACCEPT4:
		fill_sock(fd_file(t, a0), &e->sock); /* the listener */
		break;
	case OP_DUP2:
	case OP_DUP3: {
		struct file *f = fd_file(t, a0);
		if (!f || !file_is_socket(f))
			return 0; /* only sockets onto stdio: the reverse-shell signal */
		e->aux |= AUX_SOCKET;
		fill_sock(f, &e->sock);
		break;
	}
	case OP_OPEN:
		read_user_path(e->path, (void *)a0);
		if (!open_watched(e, a1))
			return 0;
		break;
	case OP_OPENAT:
		read_user_path(e->path, (void *)a1);
		if (!open_watched(e, a2))
			return 0;
		break;
	case OP_OPENAT2: {
		__u64 flags = 0;
		bpf_probe_read_user(&flags, sizeof(flags), (void *)a2); /* struct open_how.flags */
		e->args[2] = flags;
		read_user_path(e->path, (void *)a1);
		if (!open_watched(e, flags))
			return 0;
		break;
	}
	case OP_CHMOD:
		read_user_path(e->path, (void *)a0);
		break;
	case OP_FCHMODAT:
	case OP_FCHMODAT2:
		read_user_path(e->path, (void *)a1);
		break;
	case OP_FCHMOD: {
		struct file *f = fd_file(t, a0);
		if (f) {
			umode_t m = BPF_CORE_READ(f, f_inode, i_mode);
			if ((m & 0111) == (a1 & 0111))
				return 0; /* no execute bit added */
			e->aux |= AUX_OLDMODE_KNOWN;
			e->args[3] = m;
		}
		break;
	}
	case OP_MEMFD_CREATE:
		read_user_path(e->path, (void *)a0);
		break;
	case OP_MOUNT:
		read_user_path(e->path, (void *)a0);
		read_user_path(e->path2, (void *)a1);
		bpf_probe_read_user_str(e->addr, ADDR_LEN, (void *)a2); /* fstype */
		break;
	case OP_CAPSET: {
		/* struct __user_cap_data_struct[2]: effective, permitted, inheritable */
		__u32 eff0 = 0, eff1 = 0;
		bpf_probe_read_user(&eff0, sizeof(eff0), (void *)a1);
		bpf_probe_read_user(&eff1, sizeof(eff1), (void *)(a1 + 12));
		e->args[3] = ((__u64)eff1 << 32) | eff0;
		break;
	}
	case OP_EXECVEAT:
		read_user_path(e->path, (void *)a1);
		break;
	}
	bpf_map_update_elem(&inflight, &e->h.tid, e, BPF_ANY);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int handle_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	long ret = ctx->args[1];
	long nr = SYSCALL_NR(regs);
	__u32 key;
	__u32 *opp;

	if (nr < 0 || nr >= MAX_SYSCALL_NR)
		return 0;
	key = nr;
	opp = bpf_map_lookup_elem(&syscall_ops, &key);
	if (!opp || *opp == 0)
		return 0;

	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sys_event *e = bpf_map_lookup_elem(&inflight, &tid);
	if (!e)
		return 0;
	if (e->nr != key) {
		bpf_map_delete_elem(&inflight, &tid);
		return 0;
	}
	if (ret == -512 || ret == -513 || ret == -514 || ret == -516) {
		/* -ERESTART*: interrupted by a signal and about to be restarted
		 * (sys_enter/sys_exit fire again); report the restarted call only. */
		bpf_map_delete_elem(&inflight, &tid);
		return 0;
	}
	e->h.ret = ret;
	e->h.ktime = bpf_ktime_get_ns();
	struct task_struct *t = (void *)bpf_get_current_task();

	switch (e->op) {
	case OP_ACCEPT:
	case OP_ACCEPT4: {
		if (ret < 0) {
			bpf_map_delete_elem(&inflight, &tid);
			return 0;
		}
		/* e->sock holds the listener (from sys_enter). A connection reset
		 * before accept returns has lost its local port: keep the
		 * listener's. */
		__u16 lport = e->sock.sport;
		fill_sock(fd_file(t, ret), &e->sock);
		if (e->sock.sport == 0)
			e->sock.sport = lport;
		break;
	}
	case OP_CONNECT:
	case OP_BIND:
		fill_sock(fd_file(t, e->args[0]), &e->sock);
		break;
	}
	if ((e->aux & AUX_RELATIVE) && ret >= 0) {
		/* A relative open that succeeded: resolve the opened file's path
		 * here, while the file exists (user space would race with it). */
		struct open_event *o = bpf_ringbuf_reserve(&events, sizeof(*o), 0);
		if (!o) {
			count_drop();
			bpf_map_delete_elem(&inflight, &tid);
			return 0;
		}
		bpf_probe_read_kernel(&o->s, sizeof(o->s), e);
		o->s.h.kind = KIND_OPEN_RESOLVED;
		struct file *f = fd_file(t, ret);
		if (f)
			walk_path(__builtin_preserve_access_index(&f->f_path), &o->resolved);
		else
			o->resolved.depth = 0;
		bpf_ringbuf_submit(o, rb_flags());
	} else if (bpf_ringbuf_output(&events, e, sizeof(*e), rb_flags()) < 0) {
		count_drop();
	}
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}

/* Keep the record types in BTF so bpf2go generates their Go twins. */
const struct exec_event *unused_exec_event __attribute__((unused));
const struct fork_event *unused_fork_event __attribute__((unused));
const struct exit_event *unused_exit_event __attribute__((unused));
const struct open_event *unused_open_event __attribute__((unused));
