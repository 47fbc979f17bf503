#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One NVIDIA GPU as NVML reports it.
public struct NvmlDevice: Sendable, Equatable {
    /// NVML's index (the order `nvidia-smi` lists), which every other call takes.
    public var index: Int
    /// The marketing name, e.g. "NVIDIA H100 80GB HBM3".
    public var name: String
    /// Installed device memory; nil when the GPU does not report it (NVML_ERROR_NOT_SUPPORTED).
    public var memoryTotalBytes: UInt64?
    /// Whether the GPU has the cumulative energy counter (Volta and later). When it does not,
    /// energy has to be integrated from power samples instead.
    public var supportsTotalEnergy: Bool

    public init(index: Int, name: String, memoryTotalBytes: UInt64?, supportsTotalEnergy: Bool) {
        self.index = index
        self.name = name
        self.memoryTotalBytes = memoryTotalBytes
        self.supportsTotalEnergy = supportsTotalEnergy
    }
}

/// Why NVML could not be loaded or answered. Machines without an NVIDIA driver are normal for
/// Frontier, so `libraryNotFound` is the expected outcome there and callers fall back to other
/// energy sources; the other cases mean a driver is present but misbehaving.
public enum NvmlError: Error, CustomStringConvertible, Sendable, Equatable {
    /// `dlopen` failed: no NVIDIA driver is installed, or the path is wrong. `dlerror` is the
    /// dynamic loader's own explanation.
    case libraryNotFound(path: String, dlerror: String)
    /// The library loaded but does not export this function (a driver too old, or not NVML).
    case missingSymbol(String)
    /// An NVML function returned something other than NVML_SUCCESS.
    case call(function: String, code: Int32)
    /// A device index outside `0..<count`.
    case deviceIndexOutOfRange(index: Int, count: Int)

    public var description: String {
        switch self {
        case .libraryNotFound(let path, let dlerror):
            return "Could not load the NVIDIA Management Library from \(path) (\(dlerror)). "
                + "Is the NVIDIA driver installed on this machine?"
        case .missingSymbol(let symbol):
            return "The NVIDIA Management Library does not export \(symbol); "
                + "the driver is probably too old for Frontier, which needs NVML from driver R418 or later."
        case .call(let function, let code):
            return "\(function) failed with NVML error \(code) (\(NvmlError.name(ofReturnCode: code)))."
        case .deviceIndexOutOfRange(let index, let count):
            return "There is no NVIDIA GPU with index \(index); NVML reports \(count) "
                + (count == 1 ? "GPU (index 0)." : "GPUs\(count > 0 ? " (indices 0 to \(count - 1))" : "").")
        }
    }

    /// NVML's return-code names from `nvml.h`, kept here rather than asked of `nvmlErrorString`
    /// so that an error can still be described after its library has been closed.
    static func name(ofReturnCode code: Int32) -> String {
        switch code {
        case 0: return "NVML_SUCCESS"
        case 1: return "NVML_ERROR_UNINITIALIZED"
        case 2: return "NVML_ERROR_INVALID_ARGUMENT"
        case 3: return "NVML_ERROR_NOT_SUPPORTED"
        case 4: return "NVML_ERROR_NO_PERMISSION"
        case 5: return "NVML_ERROR_ALREADY_INITIALIZED"
        case 6: return "NVML_ERROR_NOT_FOUND"
        case 7: return "NVML_ERROR_INSUFFICIENT_SIZE"
        case 8: return "NVML_ERROR_INSUFFICIENT_POWER"
        case 9: return "NVML_ERROR_DRIVER_NOT_LOADED"
        case 10: return "NVML_ERROR_TIMEOUT"
        case 11: return "NVML_ERROR_IRQ_ISSUE"
        case 12: return "NVML_ERROR_LIBRARY_NOT_FOUND"
        case 13: return "NVML_ERROR_FUNCTION_NOT_FOUND"
        case 14: return "NVML_ERROR_CORRUPTED_INFOROM"
        case 15: return "NVML_ERROR_GPU_IS_LOST"
        case 16: return "NVML_ERROR_RESET_REQUIRED"
        case 17: return "NVML_ERROR_OPERATING_SYSTEM"
        case 18: return "NVML_ERROR_LIB_RM_VERSION_MISMATCH"
        case 19: return "NVML_ERROR_IN_USE"
        case 20: return "NVML_ERROR_MEMORY"
        case 21: return "NVML_ERROR_NO_DATA"
        case 999: return "NVML_ERROR_UNKNOWN"
        default: return "an NVML return code this build does not know"
        }
    }
}

/// The NVIDIA Management Library, opened at run time with `dlopen`.
///
/// Frontier builds and runs on machines with no NVIDIA software at all, so NVML is never a
/// build-time dependency: the library is looked up by name, every function Frontier uses is
/// resolved once here, and a machine without the driver just gets `NvmlError.libraryNotFound`.
/// NVML itself is thread-safe and every stored property is immutable, hence `@unchecked Sendable`.
public final class NvmlLibrary: @unchecked Sendable {
    /// The versioned soname the driver installs; the unversioned `libnvidia-ml.so` only exists
    /// with the development package.
    public static let defaultPath = "libnvidia-ml.so.1"

    /// `nvmlDevice_t` is a pointer to an opaque struct.
    private typealias DeviceHandle = OpaquePointer?
    private typealias VoidCall = @convention(c) () -> Int32
    private typealias CountCall = @convention(c) (UnsafeMutablePointer<UInt32>?) -> Int32
    private typealias HandleCall = @convention(c) (UInt32, UnsafeMutablePointer<DeviceHandle>?) -> Int32
    private typealias NameCall = @convention(c) (DeviceHandle, UnsafeMutablePointer<CChar>?, UInt32) -> Int32
    private typealias UInt64Call = @convention(c) (DeviceHandle, UnsafeMutablePointer<UInt64>?) -> Int32
    private typealias UInt32Call = @convention(c) (DeviceHandle, UnsafeMutablePointer<UInt32>?) -> Int32
    /// `nvmlMemory_t` is `{ unsigned long long total, free, used; }`, passed as three UInt64s.
    private typealias MemoryCall = @convention(c) (DeviceHandle, UnsafeMutablePointer<UInt64>?) -> Int32

    private static let success: Int32 = 0
    private static let invalidArgument: Int32 = 2
    private static let notSupported: Int32 = 3
    /// NVML_DEVICE_NAME_V2_BUFFER_SIZE: enough for every name NVML returns.
    private static let nameBufferSize = 96

    /// Where the library was opened from, for messages.
    public let path: String
    private let handle: UnsafeMutableRawPointer
    private let shutdown: VoidCall
    private let getCount: CountCall
    private let getHandleByIndex: HandleCall
    private let getName: NameCall
    private let getTotalEnergyConsumption: UInt64Call
    private let getPowerUsage: UInt32Call
    private let getMemoryInfo: MemoryCall

    /// dlopen + nvmlInit_v2; throws NvmlError when the library is absent or init fails.
    public init(path: String = NvmlLibrary.defaultPath) throws {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw NvmlError.libraryNotFound(path: path, dlerror: NvmlLibrary.lastDlerror())
        }
        // Every symbol is resolved before nvmlInit_v2 so that a missing one never leaves NVML
        // initialised behind a thrown error.
        do {
            let initialize = try NvmlLibrary.symbol("nvmlInit_v2", in: handle, as: VoidCall.self)
            self.shutdown = try NvmlLibrary.symbol("nvmlShutdown", in: handle, as: VoidCall.self)
            self.getCount = try NvmlLibrary.symbol("nvmlDeviceGetCount_v2", in: handle, as: CountCall.self)
            self.getHandleByIndex = try NvmlLibrary.symbol(
                "nvmlDeviceGetHandleByIndex_v2", in: handle, as: HandleCall.self)
            self.getName = try NvmlLibrary.symbol("nvmlDeviceGetName", in: handle, as: NameCall.self)
            self.getTotalEnergyConsumption = try NvmlLibrary.symbol(
                "nvmlDeviceGetTotalEnergyConsumption", in: handle, as: UInt64Call.self)
            self.getPowerUsage = try NvmlLibrary.symbol("nvmlDeviceGetPowerUsage", in: handle, as: UInt32Call.self)
            self.getMemoryInfo = try NvmlLibrary.symbol("nvmlDeviceGetMemoryInfo", in: handle, as: MemoryCall.self)
            try NvmlLibrary.check(initialize(), "nvmlInit_v2")
        } catch {
            dlclose(handle)
            throw error
        }
        self.path = path
        self.handle = handle
    }

    /// nvmlShutdown + dlclose. NVML reference-counts init/shutdown, so several instances may
    /// coexist; the shutdown's result is ignored because nothing can act on it here.
    deinit {
        _ = shutdown()
        dlclose(handle)
    }

    /// The number of GPUs NVML can see (including ones this process may not be allowed to use).
    public func deviceCount() throws -> Int {
        var count: UInt32 = 0
        try NvmlLibrary.check(getCount(&count), "nvmlDeviceGetCount_v2")
        return Int(count)
    }

    /// Every GPU with its name, memory and whether it has the cumulative energy counter.
    /// Probing the counter reads it once, which is harmless: it only ever increases.
    public func devices() throws -> [NvmlDevice] {
        try (0..<deviceCount()).map { index in
            let device = try deviceHandle(index)
            return NvmlDevice(
                index: index,
                name: try name(of: device),
                memoryTotalBytes: try memoryTotal(of: device),
                supportsTotalEnergy: try totalEnergy(of: device) != nil)
        }
    }

    /// nvmlDeviceGetTotalEnergyConsumption: millijoules since driver load (Volta+); nil when the GPU returns NVML_ERROR_NOT_SUPPORTED (code 3).
    public func totalEnergyMillijoules(device index: Int) throws -> UInt64? {
        try totalEnergy(of: deviceHandle(index))
    }

    /// nvmlDeviceGetPowerUsage: milliwatts now. On most GPUs this is an average over the last
    /// second or so, not an instantaneous reading, so integrating it smears short bursts.
    public func powerMilliwatts(device index: Int) throws -> UInt32 {
        let device = try deviceHandle(index)
        var milliwatts: UInt32 = 0
        try NvmlLibrary.check(getPowerUsage(device, &milliwatts), "nvmlDeviceGetPowerUsage")
        return milliwatts
    }

    // MARK: - Per-device calls

    /// Handles are looked up per call rather than cached so the class stays immutable; the
    /// lookup is an array index inside NVML. A bad index is reported with the real count.
    private func deviceHandle(_ index: Int) throws -> DeviceHandle {
        guard let nvmlIndex = UInt32(exactly: index) else {
            throw NvmlError.deviceIndexOutOfRange(index: index, count: try deviceCount())
        }
        var device: DeviceHandle = nil
        let code = getHandleByIndex(nvmlIndex, &device)
        if code == NvmlLibrary.invalidArgument {
            let count = try deviceCount()
            if index >= count { throw NvmlError.deviceIndexOutOfRange(index: index, count: count) }
        }
        try NvmlLibrary.check(code, "nvmlDeviceGetHandleByIndex_v2")
        return device
    }

    private func name(of device: DeviceHandle) throws -> String {
        var buffer = [CChar](repeating: 0, count: NvmlLibrary.nameBufferSize)
        let code = buffer.withUnsafeMutableBufferPointer { bytes in
            getName(device, bytes.baseAddress, UInt32(bytes.count))
        }
        try NvmlLibrary.check(code, "nvmlDeviceGetName")
        // The terminator is searched for rather than trusted, in case a driver fills the buffer.
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func memoryTotal(of device: DeviceHandle) throws -> UInt64? {
        var memory: [UInt64] = [0, 0, 0]  // total, free, used
        let code = memory.withUnsafeMutableBufferPointer { getMemoryInfo(device, $0.baseAddress) }
        if code == NvmlLibrary.notSupported { return nil }
        try NvmlLibrary.check(code, "nvmlDeviceGetMemoryInfo")
        return memory[0]
    }

    private func totalEnergy(of device: DeviceHandle) throws -> UInt64? {
        var millijoules: UInt64 = 0
        let code = getTotalEnergyConsumption(device, &millijoules)
        if code == NvmlLibrary.notSupported { return nil }
        try NvmlLibrary.check(code, "nvmlDeviceGetTotalEnergyConsumption")
        return millijoules
    }

    // MARK: - Loader helpers

    private static func check(_ code: Int32, _ function: String) throws {
        if code != success { throw NvmlError.call(function: function, code: code) }
    }

    private static func symbol<Function>(
        _ name: String, in handle: UnsafeMutableRawPointer, as type: Function.Type
    ) throws -> Function {
        guard let pointer = dlsym(handle, name) else { throw NvmlError.missingSymbol(name) }
        return unsafeBitCast(pointer, to: type)
    }

    /// dlerror's message, which is per-thread and cleared by reading, so it is read right after
    /// the failing call.
    private static func lastDlerror() -> String {
        guard let message = dlerror() else { return "no reason given by the dynamic loader" }
        return String(cString: message)
    }
}
