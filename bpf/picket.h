/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Records shared by the BPF programs and the Go decoder
 * (internal/runtime/sensor/ebpf). Change both together: the Go side checks
 * sizes and offsets against the bpf2go-generated types in its tests. */
#ifndef PICKET_H
#define PICKET_H

#define TASK_COMM_LEN 16
#define PATH_DEPTH 16     /* power of two */
#define PATH_NAME_LEN 64  /* one path component, NUL included */
#define PATH_LEN 256      /* a path argument */
#define ARGS_LEN 1024     /* argv bytes (power of two) */
#define ADDR_LEN 128      /* sockaddr bytes, or the mount fstype (power of two) */
#define WATCH_KEY_LEN 128 /* bytes of a path compared against watch_paths */
#define WATCH_NAME_LEN 32 /* a file name compared against watch_names */
#define MAX_SYSCALL_NR 512

#define OVERLAYFS_SUPER_MAGIC 0x794c7630

/* enum kind */
#define KIND_EXEC 1
#define KIND_FORK 2
#define KIND_EXIT 3
#define KIND_SYSCALL 4
#define KIND_OPEN_RESOLVED 5 /* a relative open, with the opened file's path */

/* hdr.flags */
#define HDR_TTY 1

/* exec_event.exec_flags */
#define EXEC_ARGS_TRUNCATED 1
#define EXEC_OVERLAY 2  /* the executable is on an overlayfs */
#define EXEC_UPPER 4    /* ...and present in its upper (writable) layer */
#define EXEC_LOWER 8    /* ...and has a lower (image) layer entry */
#define EXEC_DELETED 16 /* the executable has no link left (memfd, deleted) */

/* path_parts.flags */
#define PATH_TRUNCATED 1
#define PATH_PSEUDO 2

/* sys_event.op: what the syscall number means (set per architecture by the
 * loader). */
#define OP_CONNECT 1
#define OP_ACCEPT 2
#define OP_ACCEPT4 3
#define OP_BIND 4
#define OP_DUP2 5
#define OP_DUP3 6
#define OP_OPEN 7
#define OP_OPENAT 8
#define OP_OPENAT2 9
#define OP_CHMOD 10
#define OP_FCHMOD 11
#define OP_FCHMODAT 12
#define OP_SETUID 13
#define OP_SETREUID 14
#define OP_SETRESUID 15
#define OP_SETGID 16
#define OP_SETREGID 17
#define OP_SETRESGID 18
#define OP_CAPSET 19
#define OP_PTRACE 20
#define OP_MEMFD_CREATE 21
#define OP_EXECVEAT 22
#define OP_INIT_MODULE 23
#define OP_FINIT_MODULE 24
#define OP_MOUNT 25
#define OP_UNSHARE 26
#define OP_SETNS 27
#define OP_FCHMODAT2 28

/* sys_event.aux */
#define AUX_SOCKET 1        /* dup: oldfd is a socket */
#define AUX_RELATIVE 2      /* open: relative path, resolve in user space */
#define AUX_OLDMODE_KNOWN 4 /* fchmod: args[3] holds the old mode */

/* watch_paths values */
#define WATCH_READ 1
#define WATCH_WRITE 2

#ifndef O_WRONLY
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_TRUNC 01000
#endif
#ifndef S_IFMT
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#endif
#ifndef AF_INET
#define AF_INET 2
#define AF_INET6 10
#endif
#define PTRACE_POKETEXT 4
#define PTRACE_POKEDATA 5
#define PTRACE_POKEUSER 6
#define PTRACE_ATTACH 16
#define PTRACE_SEIZE 0x4206

#if defined(__TARGET_ARCH_x86)
#define SYSCALL_NR(regs) BPF_CORE_READ((regs), orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_NR(regs) BPF_CORE_READ((struct pt_regs___arm64 *)(regs), syscallno)
#endif

struct hdr {
	__u64 ktime;      /* bpf_ktime_get_ns */
	__u64 cgroup_id;  /* bpf_get_current_cgroup_id */
	__s64 ret;        /* syscall return */
	__u64 start_time; /* process start, ns since boot */
	__u32 kind;
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 mnt_ns;
	__u32 pid_ns;
	__u32 flags;
	__u32 _pad;
	char comm[TASK_COMM_LEN];
};

struct path_parts {
	__u32 depth; /* components used, leaf first */
	__u32 flags;
	char name[PATH_DEPTH][PATH_NAME_LEN];
};

struct exec_event {
	struct hdr h;
	__u32 args_len;
	__u32 exec_flags;
	__u64 exe_magic; /* superblock magic of the executable's filesystem */
	__u32 exe_dev;   /* its superblock's dev_t (kernel encoding: major << 20 | minor) */
	__u32 exe_ino;   /* and inode number (low 32 bits) */
	char filename[PATH_LEN];
	char args[ARGS_LEN];
	struct path_parts exe;
	struct path_parts cwd;
};

struct fork_event {
	struct hdr h;
};

struct exit_event {
	struct hdr h;
	__u32 exit_code; /* task->exit_code: status << 8 | signal */
	__u32 _pad;
};

struct sock_info {
	__u16 valid;
	__u16 family;
	__u16 type;
	__u16 protocol;
	__u16 sport;
	__u16 dport;
	__u32 _pad;
	__u8 saddr[16];
	__u8 daddr[16];
};

struct sys_event {
	struct hdr h;
	__u32 op;
	__u32 nr;
	__u64 args[6];
	__u32 aux;
	__u32 addr_len;
	struct sock_info sock;
	__u8 addr[ADDR_LEN];
	char path[PATH_LEN];
	char path2[PATH_LEN];
};

struct open_event {
	struct sys_event s;
	struct path_parts resolved; /* the opened file, walked in the kernel */
};

struct name_key {
	char name[WATCH_NAME_LEN];
};

struct watch_key {
	__u32 prefixlen;
	__u8 data[WATCH_KEY_LEN];
};

#endif
