import Foundation
import Testing
@testable import FrontierMeasurement
@testable import FrontierSupport


/// The device probe against fake /proc, /sys and /etc trees written to a temporary folder, the
/// device-class slugs on real model strings, and git provenance on fake `.git` folders.
@Suite struct DeviceProbeTests {
    /// A temporary folder holding `files` (relative path → contents), removed by `body`'s end.
    static func withTree<T>(_ files: [String: String], _ body: (URL) throws -> T) throws -> T {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("frontier-device-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        for (path, contents) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try contents.write(to: url, atomically: true, encoding: .utf8)
        }
        return try body(root)
    }

    static func probe(_ root: URL, gpus: [GPUDescription] = [], override: String? = nil) -> DeviceFingerprint {
        DeviceProbe(root: root.path).fingerprint(
            threadsUsed: 4, gpus: gpus, openblasConfig: "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SapphireRapids MAX_THREADS=64",
            openblasThreads: 4, engineVersion: "0.1.0", gitCommit: nil, deviceClassOverride: override)
    }

    /// One cpuinfo block per (socket, core, thread), as Linux lists a hyper-threaded Xeon.
    static func intelCPUInfo(sockets: Int, coresPerSocket: Int, threadsPerCore: Int) -> String {
        var text = ""
        var processor = 0
        for _ in 0..<threadsPerCore {
            for socket in 0..<sockets {
                for core in 0..<coresPerSocket {
                    text += """
                        processor\t: \(processor)
                        vendor_id\t: GenuineIntel
                        cpu family\t: 6
                        model\t\t: 143
                        model name\t: Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz
                        physical id\t: \(socket)
                        siblings\t: \(coresPerSocket * threadsPerCore)
                        core id\t\t: \(core)
                        cpu cores\t: \(coresPerSocket)
                        flags\t\t: fpu vme sse sse2 ssse3 fma cx16 sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512_vnni avx512_bf16 amx_bf16 avx_vnni amx_tile amx_int8
                        bogomips\t: 4000.00


                        """
                    processor += 1
                }
            }
        }
        return text
    }

    // MARK: - Probe on fake trees

    @Test func twoSocketIntelXeon() throws {
        let fingerprint = try Self.withTree([
            "proc/cpuinfo": Self.intelCPUInfo(sockets: 2, coresPerSocket: 3, threadsPerCore: 2),
            "proc/meminfo": "MemTotal:       263842312 kB\nMemFree:        1000 kB\n",
            "proc/sys/kernel/hostname": "spr-node-07\n",
            "proc/sys/kernel/osrelease": "6.1.0-18-amd64\n",
            "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor": "performance\n",
            "etc/os-release": "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n",
        ]) { Self.probe($0) }

        #expect(fingerprint.hostname == "spr-node-07")
        #expect(fingerprint.cpuVendor == "GenuineIntel")
        #expect(fingerprint.cpuModel == "Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz")
        #expect(fingerprint.cpuFlags == ["amx_int8", "avx2", "avx512_bf16", "avx512_vnni", "avx512f", "avx_vnni", "fma"])
        #expect(fingerprint.logicalCpus == 12)
        #expect(fingerprint.physicalCores == 6)
        #expect(fingerprint.sockets == 2)
        #expect(fingerprint.threadsUsed == 4)
        #expect(fingerprint.frequencyGovernor == "performance")
        #expect(fingerprint.memoryTotalBytes == 263_842_312 * 1024)
        #expect(fingerprint.kernel == "6.1.0-18-amd64")
        #expect(fingerprint.os == "Debian GNU/Linux 12 (bookworm)")
        #expect(fingerprint.deviceClass == "intel-xeon-platinum-8480")
        #expect(fingerprint.deviceClassSource == "automatic")
        #expect(fingerprint.gitCommit == nil)

        let decoded = try JSONDecoder().decode(DeviceFingerprint.self, from: JSONEncoder().encode(fingerprint))
        #expect(decoded == fingerprint)
    }

    @Test func amdEpycWithGPUAndNoGovernor() throws {
        let cpuinfo = (0..<2).map { index in
            """
            processor\t: \(index)
            vendor_id\t: AuthenticAMD
            model name\t: AMD EPYC 9654 96-Core Processor
            physical id\t: 0
            core id\t\t: \(index)
            flags\t\t: fpu sse2 avx fma avx2 avx512f avx512_bf16 avx512_vnni
            """
        }.joined(separator: "\n\n") + "\n"
        let gpu = GPUDescription(index: 0, name: "NVIDIA H100 80GB HBM3", memoryTotalBytes: 85_520_809_984)
        try Self.withTree([
            "proc/cpuinfo": cpuinfo,
            "proc/meminfo": "MemTotal:       1584123456 kB\n",
            // os-release(5): /etc/os-release wins, /usr/lib/os-release when it is absent; single quotes.
            "usr/lib/os-release": "PRETTY_NAME='Ubuntu 22.04.4 LTS'\n",
        ]) { root in
            let fingerprint = Self.probe(root, gpus: [gpu])
            #expect(fingerprint.cpuVendor == "AuthenticAMD")
            #expect(fingerprint.cpuFlags == ["avx2", "avx512_bf16", "avx512_vnni", "avx512f", "fma"])
            #expect(fingerprint.logicalCpus == 2)
            #expect(fingerprint.physicalCores == 2)
            #expect(fingerprint.sockets == 1)
            #expect(fingerprint.frequencyGovernor == nil)
            #expect(fingerprint.os == "Ubuntu 22.04.4 LTS")
            #expect(fingerprint.gpus == [gpu])
            #expect(fingerprint.deviceClass == "nvidia-h100-80gb-hbm3")
            #expect(fingerprint.deviceClassSource == "automatic")
            // No hostname or osrelease file in a fake tree: the test host's own are not used.
            #expect(fingerprint.hostname == "unknown")
            #expect(fingerprint.kernel == "unknown")

            let overridden = Self.probe(root, gpus: [gpu], override: "Lab-H100.a")
            #expect(overridden.deviceClass == "lab-h100.a")
            #expect(overridden.deviceClassSource == "override")
        }
    }

    @Test func arm64WithoutModelName() throws {
        var files = [
            "proc/cpuinfo": (0..<4).map { index in
                """
                processor\t: \(index)
                BogoMIPS\t: 2000.00
                Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp sve sve2 i8mm bf16 svebf16
                CPU implementer\t: 0x41
                CPU architecture: 8
                CPU variant\t: 0x0
                CPU part\t: 0xd4f
                CPU revision\t: 0

                """
            }.joined(separator: "\n"),
            "etc/hostname": "grace-01\n",
        ]
        // Arm kernels give topology in sysfs only.
        for cpu in 0..<4 {
            files["sys/devices/system/cpu/cpu\(cpu)/topology/core_id"] = "\(cpu)\n"
            files["sys/devices/system/cpu/cpu\(cpu)/topology/physical_package_id"] = "0\n"
        }
        files["sys/devices/system/cpu/online"] = "0-3\n"
        let fingerprint = try Self.withTree(files) { Self.probe($0) }
        #expect(fingerprint.hostname == "grace-01")
        #expect(fingerprint.cpuVendor == "ARM")
        #expect(fingerprint.cpuModel == "ARM Neoverse-V2")
        #expect(fingerprint.cpuFlags == ["asimddp", "bf16", "i8mm", "sve", "sve2"])
        #expect(fingerprint.logicalCpus == 4)
        #expect(fingerprint.physicalCores == 4)
        #expect(fingerprint.sockets == 1)
        #expect(fingerprint.memoryTotalBytes == nil)
        #expect(fingerprint.os == nil)
        #expect(fingerprint.deviceClass == "arm-neoverse-v2")
    }

    @Test func armPartsAndImplementersOutsideTheTables() throws {
        let ampere = DeviceProbe.processorBlocks("processor\t: 0\nCPU implementer\t: 0xc0\nCPU part\t: 0xac3\n")
        #expect(DeviceProbe.cpuVendor(ampere[0]) == "Ampere")
        #expect(DeviceProbe.cpuModel(ampere[0]) == "Ampere 0xac3")
        let unknown = DeviceProbe.processorBlocks("processor\t: 0\nCPU implementer\t: 0x99\n")
        #expect(DeviceProbe.cpuVendor(unknown[0]) == "0x99")
        #expect(DeviceProbe.cpuModel(unknown[0]) == "0x99")
        // A package id of -1: cores are known, sockets are not.
        let topology = try Self.withTree([
            "sys/devices/system/cpu/cpu0/topology/core_id": "0",
            "sys/devices/system/cpu/cpu0/topology/physical_package_id": "-1",
            "sys/devices/system/cpu/cpu1/topology/core_id": "1",
            "sys/devices/system/cpu/cpu1/topology/physical_package_id": "-1",
            "sys/devices/system/cpu/cpufreq/policy0": "",
        ]) { DeviceProbe(root: $0.path).sysfsTopology() }
        #expect(topology == DeviceProbe.Topology(cores: 2, sockets: nil))
    }

    @Test func emptyTreeGivesUnknownsNotErrors() throws {
        let fingerprint = try Self.withTree([:]) { Self.probe($0) }
        #expect(fingerprint.cpuModel == "unknown")
        #expect(fingerprint.cpuVendor == "unknown")
        #expect(fingerprint.cpuFlags == [])
        #expect(fingerprint.logicalCpus == 0)
        #expect(fingerprint.physicalCores == nil)
        #expect(fingerprint.sockets == nil)
        #expect(fingerprint.frequencyGovernor == nil)
        #expect(fingerprint.memoryTotalBytes == nil)
        #expect(fingerprint.kernel == "unknown")
        #expect(fingerprint.os == nil)
        #expect(fingerprint.deviceClass == "unknown-cpu")

        // Without cpuinfo, the kernel's online list still counts CPUs.
        let online = try Self.withTree(["sys/devices/system/cpu/online": "0-3,8-11\n"]) { Self.probe($0) }
        #expect(online.logicalCpus == 8)
    }

    @Test func cpuinfoAndListParsing() {
        // Blocks without blank lines between them, and a trailing machine block (arm32).
        let blocks = DeviceProbe.processorBlocks("processor : 0\nmodel name : A\nprocessor : 1\nmodel name : B\n\nHardware : board\n")
        #expect(blocks.map { $0["model name"] } == ["A", "B"])
        #expect(DeviceProbe.countCPUList("0") == 1)
        #expect(DeviceProbe.countCPUList("0-63\n") == 64)
        #expect(DeviceProbe.countCPUList("0,2,4-5") == 4)
        #expect(DeviceProbe.countCPUList("") == nil)
        #expect(DeviceProbe.countCPUList("3-1") == nil)
        #expect(DeviceProbe.memoryTotal("MemTotal: 16 kB") == 16384)
        #expect(DeviceProbe.memoryTotal("MemFree: 16 kB") == nil)
        #expect(DeviceProbe.prettyName("PRETTY_NAME=\"Say \\\"hi\\\"\"") == "Say \"hi\"")
        #expect(DeviceProbe.prettyName("PRETTY_NAME=Arch") == "Arch")
    }

    /// On the real machine the CPU count is what the process may use, which is what a container's
    /// cpuset or `taskset` leaves it.
    @Test func liveSystem() throws {
        let fingerprint = DeviceProbe().fingerprint(
            threadsUsed: 1, gpus: [], openblasConfig: "", openblasThreads: 1, engineVersion: FrontierVersion.string,
            gitCommit: nil, deviceClassOverride: nil)
        let affinity = try #require(DeviceProbe.affinityCount())
        #expect(affinity > 0)
        #expect(fingerprint.logicalCpus == affinity)
        #expect(fingerprint.kernel != "unknown")
        #expect(fingerprint.hostname != "unknown")
        if FileManager.default.isReadableFile(atPath: "/proc/cpuinfo") {
            #expect(fingerprint.cpuModel != "unknown")
        }
        print("live fingerprint: \(fingerprint.cpuModel), \(fingerprint.logicalCpus) CPUs, class \(fingerprint.deviceClass)")
    }

    // MARK: - Device class

    @Test(arguments: [
        ("Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz", "intel-xeon-platinum-8480"),
        ("AMD EPYC 9654 96-Core Processor", "amd-epyc-9654"),
        ("AMD EPYC 7763 64-Core Processor", "amd-epyc-7763"),
        ("AMD Ryzen Threadripper PRO 5995WX 64-Cores", "amd-ryzen-threadripper-pro-5995wx"),
        ("Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", "intel-xeon-e5-2680-v4"),
        ("Intel(R) Xeon(R) CPU @ 2.20GHz", "intel-xeon"),
        ("12th Gen Intel(R) Core(TM) i7-12700H", "12th-gen-intel-core-i7-12700h"),
        ("Intel(R) Core(TM) Ultra 7 155H", "intel-core-ultra-7-155h"),
        ("Quad-Core AMD Opteron(tm) Processor 2374 HE", "amd-opteron-2374-he"),
        ("AMD EPYC", "amd-epyc"),
        ("ARM Neoverse-N1", "arm-neoverse-n1"),
        ("unknown", "unknown-cpu"),
        ("", "unknown-cpu"),
        ("(R)(TM)", "unknown-cpu"),
    ])
    func cpuDeviceClass(model: String, expected: String) throws {
        let slug = DeviceClass.automatic(cpuModel: model, gpuNames: [])
        #expect(slug == expected)
        // Every automatic label is a valid override too.
        #expect(try DeviceClass.validated(slug) == slug)
    }

    @Test func gpuNameTakesPrecedence() {
        #expect(DeviceClass.automatic(cpuModel: "AMD EPYC 9654 96-Core Processor", gpuNames: ["NVIDIA H100 80GB HBM3", "NVIDIA A10"])
            == "nvidia-h100-80gb-hbm3")
        #expect(DeviceClass.automatic(cpuModel: "x", gpuNames: ["Tesla V100-SXM2-16GB"]) == "tesla-v100-sxm2-16gb")
        #expect(DeviceClass.automatic(cpuModel: "x", gpuNames: ["NVIDIA GeForce RTX 4090"]) == "nvidia-geforce-rtx-4090")
        // A GPU name with nothing alphanumeric falls back to the CPU.
        #expect(DeviceClass.automatic(cpuModel: "AMD EPYC", gpuNames: ["???"]) == "amd-epyc")
        let long = String(repeating: "abc ", count: 30)
        let slug = DeviceClass.automatic(cpuModel: long, gpuNames: [])
        #expect(slug.count <= DeviceClass.maximumLength && !slug.hasSuffix("-"))
    }

    @Test func overrideValidation() throws {
        #expect(try DeviceClass.validated("H100-Lab_2.x") == "h100-lab_2.x")
        #expect(try DeviceClass.validated(String(repeating: "a", count: 64)).count == 64)
        for bad in ["", String(repeating: "a", count: 65), "lab a", "lab/a", "café", "lab\n"] {
            #expect(throws: DeviceClass.InvalidName.self) { try DeviceClass.validated(bad) }
        }
        do {
            _ = try DeviceClass.validated("lab a")
            Issue.record("accepted a space")
        } catch {
            #expect(error.description.contains("\"lab a\""))
            #expect(error.description.contains("\" \""))
        }
    }

    // MARK: - Git provenance

    static let commitA = "0123456789abcdef0123456789abcdef01234567"
    static let commitB = "89abcdef0123456789abcdef0123456789abcdef"

    @Test func looseRef() throws {
        try Self.withTree([
            ".git/HEAD": "ref: refs/heads/main\n",
            ".git/refs/heads/main": Self.commitA + "\n",
            ".git/packed-refs": "\(Self.commitB) refs/heads/main\n",
            "Sources/Agent/main.swift": "",
        ]) { root in
            // The loose ref is newer than packed-refs and wins; found from a subfolder.
            #expect(GitProvenance.commit(repositoryContaining: root.appendingPathComponent("Sources/Agent")) == Self.commitA)
        }
    }

    @Test func packedRefsOnly() throws {
        try Self.withTree([
            ".git/HEAD": "ref: refs/heads/feature/x\n",
            ".git/refs/heads/other": Self.commitA,
            ".git/packed-refs": """
                # pack-refs with: peeled fully-peeled sorted
                \(Self.commitA) refs/heads/feature/w
                \(Self.commitB) refs/heads/feature/x
                \(Self.commitA) refs/tags/v1
                ^\(Self.commitA)

                """,
        ]) { root in
            #expect(GitProvenance.commit(repositoryContaining: root) == Self.commitB)
        }
    }

    @Test func detachedHeadUnbornBranchAndNoRepository() throws {
        try Self.withTree([".git/HEAD": Self.commitB.uppercased() + "\n"]) { root in
            #expect(GitProvenance.commit(repositoryContaining: root) == Self.commitB)
        }
        try Self.withTree([".git/HEAD": "ref: refs/heads/main\n", ".git/refs/heads/.keep": ""]) { root in
            #expect(GitProvenance.commit(repositoryContaining: root) == nil)
        }
        try Self.withTree([".git/HEAD": "ref: refs/heads/../../../etc/passwd\n"]) { root in
            #expect(GitProvenance.commit(repositoryContaining: root) == nil)
        }
        try Self.withTree(["plain/file": ""]) { root in
            #expect(GitProvenance.commit(repositoryContaining: root.appendingPathComponent("plain")) == nil)
        }
    }

    @Test func worktreeGitFile() throws {
        try Self.withTree([
            "main/.git/HEAD": "ref: refs/heads/main\n",
            "main/.git/refs/heads/main": Self.commitA,
            "main/.git/packed-refs": "\(Self.commitB) refs/heads/topic\n",
            "main/.git/worktrees/topic/HEAD": "ref: refs/heads/topic\n",
            "main/.git/worktrees/topic/commondir": "../..\n",
            "topic/.git": "gitdir: ../main/.git/worktrees/topic\n",
        ]) { root in
            #expect(GitProvenance.commit(repositoryContaining: root.appendingPathComponent("topic")) == Self.commitB)
        }
    }

    @Test func executableAndEnvironment() throws {
        try Self.withTree([
            "repo/.git/HEAD": "ref: refs/heads/main\n",
            "repo/.git/refs/heads/main": Self.commitA,
            "repo/.build/release/frontier-agent": "",
        ]) { root in
            let binary = root.appendingPathComponent("repo/.build/release/frontier-agent")
            #expect(GitProvenance.commit(executable: binary.path, environment: [:]) == Self.commitA)
            // A symlink elsewhere resolves to the binary's own checkout.
            let link = root.appendingPathComponent("frontier-agent")
            try FileManager.default.createSymbolicLink(at: link, withDestinationURL: binary)
            #expect(GitProvenance.commit(executable: link.path, environment: [:]) == Self.commitA)
            // The build's variable wins, and an unusable one is not replaced by the walk.
            #expect(GitProvenance.commit(executable: binary.path, environment: ["FRONTIER_GIT_COMMIT": " \(Self.commitB.uppercased())\n"]) == Self.commitB)
            #expect(GitProvenance.commit(executable: binary.path, environment: ["FRONTIER_GIT_COMMIT": "abc1234"]) == "abc1234")
            #expect(GitProvenance.commit(executable: binary.path, environment: ["FRONTIER_GIT_COMMIT": "not-a-commit"]) == nil)
            #expect(GitProvenance.commit(executable: root.appendingPathComponent("missing").path, environment: [:]) == nil)
        }
    }

    @Test func thisCheckout() throws {
        let checkout = SharedData.packageRoot
        guard FileManager.default.fileExists(atPath: checkout.appendingPathComponent(".git").path) else {
            try Test.cancel(Comment(rawValue: "not a git checkout: \(checkout.path)/.git is absent"))
        }
        let commit = GitProvenance.commit(repositoryContaining: checkout)
        #expect(commit.map { GitProvenance.isObjectName($0, lengths: 40...40) } == true, "got \(String(describing: commit))")
    }
}
