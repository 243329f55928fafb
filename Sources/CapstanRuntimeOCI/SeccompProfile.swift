import CapstanOCI

/// Capstan's `RuntimeDefault` seccomp profile: everything is allowed except the syscalls the
/// common container runtime defaults refuse to unprivileged containers (kernel modules, kexec,
/// keyrings, namespaces and mounts, tracing other processes, clocks, swap, reboot, ...). A group
/// is allowed again when the container was given the capability that governs it, as the
/// Docker/containerd default profile does. Denied calls fail with EPERM.
enum SeccompDefaults {
    /// Syscalls denied unless the container has the capability (nil: always denied).
    static let groups: [(capability: String?, syscalls: [String])] = [
        (nil, ["add_key", "keyctl", "request_key", "kcmp", "lookup_dcookie", "userfaultfd", "uselib", "ustat", "sysfs", "_sysctl", "nfsservctl", "get_kernel_syms", "query_module", "create_module"]),
        ("CAP_SYS_MODULE", ["init_module", "finit_module", "delete_module"]),
        ("CAP_SYS_BOOT", ["reboot", "kexec_load", "kexec_file_load"]),
        ("CAP_SYS_ADMIN", ["mount", "umount", "umount2", "pivot_root", "unshare", "setns", "swapon", "swapoff", "quotactl", "name_to_handle_at", "open_by_handle_at", "bpf", "perf_event_open", "fanotify_init", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr"]),
        ("CAP_SYS_PTRACE", ["ptrace", "process_vm_readv", "process_vm_writev"]),
        ("CAP_SYS_TIME", ["settimeofday", "stime", "clock_settime", "clock_adjtime", "adjtimex"]),
        ("CAP_SYS_PACCT", ["acct"]),
        ("CAP_SYS_RAWIO", ["iopl", "ioperm"]),
        ("CAP_SYS_NICE", ["mbind", "set_mempolicy", "move_pages", "get_mempolicy"]),
    ]

    static func profile(capabilities: [String]) -> RuntimeSpec.Seccomp {
        let denied = groups.filter { group in group.capability.map { !capabilities.contains($0) } ?? true }.flatMap(\.syscalls)
        return RuntimeSpec.Seccomp(
            defaultAction: "SCMP_ACT_ALLOW",
            architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
            syscalls: [RuntimeSpec.Seccomp.Syscall(names: denied, action: "SCMP_ACT_ERRNO", errnoRet: 1)]
        )
    }
}
