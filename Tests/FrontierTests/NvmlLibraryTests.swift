import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import FrontierMeasurement

// MARK: - A fake NVML, compiled by the test

/// A C stand-in for libnvidia-ml with the same signatures, so the real dlopen/dlsym path runs
/// on machines without a GPU. Two devices: an H100 whose energy counter grows 500 mJ per read,
/// and a P100 (Pascal) that has no energy counter. `-DOMIT_POWER` leaves out one symbol and
/// `-DINIT_FAILS` makes nvmlInit_v2 report NVML_ERROR_DRIVER_NOT_LOADED. The init/shutdown
/// counters let the test see that deinit shuts NVML down.
private let fakeNvmlSource = #"""
#include <string.h>

typedef struct { int index; } fake_device;
static fake_device devices[2] = { {0}, {1} };
static unsigned long long h100_energy = 1000000ULL;

int fake_nvml_init_calls = 0;
int fake_nvml_shutdown_calls = 0;

int nvmlInit_v2(void) {
#ifdef INIT_FAILS
    return 9;
#else
    fake_nvml_init_calls++;
    return 0;
#endif
}
int nvmlShutdown(void) { fake_nvml_shutdown_calls++; return 0; }
int nvmlDeviceGetCount_v2(unsigned int *count) { *count = 2; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void **device) {
    if (index >= 2) return 2;
    *device = &devices[index];
    return 0;
}
int nvmlDeviceGetName(void *device, char *name, unsigned int length) {
    const char *value = ((fake_device *)device)->index == 0 ? "NVIDIA H100 80GB HBM3" : "Tesla P100";
    if (strlen(value) + 1 > length) return 7;
    strcpy(name, value);
    return 0;
}
int nvmlDeviceGetTotalEnergyConsumption(void *device, unsigned long long *energy) {
    if (((fake_device *)device)->index != 0) return 3;
    h100_energy += 500;
    *energy = h100_energy;
    return 0;
}
#ifndef OMIT_POWER
int nvmlDeviceGetPowerUsage(void *device, unsigned int *power) {
    *power = ((fake_device *)device)->index == 0 ? 312000u : 41500u;
    return 0;
}
#endif
typedef struct { unsigned long long total, free, used; } fake_memory;
int nvmlDeviceGetMemoryInfo(void *device, fake_memory *memory) {
    int index = ((fake_device *)device)->index;
    memory->total = index == 0 ? 85520809984ULL : 17071734784ULL;
    memory->used = 1048576ULL;
    memory->free = memory->total - memory->used;
    return 0;
}
"""#

/// A fresh directory per use, removed afterwards, so concurrently running tests never share files.
private func withNvmlTempDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("nvml-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// Compiles the fake into `directory` and returns the library's path. Without a C compiler the
/// test has nothing to load and is cancelled (reported as skipped); a compiler that fails is a
/// failure.
private func buildFakeNvml(in directory: URL, defines: [String] = [], test: String) throws -> String {
    let source = directory.appendingPathComponent("fake.c")
    let library = directory.appendingPathComponent("libfake-nvml.so")
    try fakeNvmlSource.write(to: source, atomically: true, encoding: .utf8)

    let process = Process()
    let arguments = defines.map { "-D\($0)" } + ["-shared", "-fPIC", "-o", library.path, source.path]
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/cc") {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        process.arguments = arguments
    } else {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["cc"] + arguments
    }
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    do {
        try process.run()
    } catch {
        try Test.cancel(Comment(rawValue: "needs a C compiler to build the fake NVML: \(error)"))
    }
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "\(test): cc could not build the fake NVML (exit \(process.terminationStatus)): \(message)")
    return library.path
}

/// Reads one of the fake's `int` counters through a separate dlopen of the same file, which
/// shares the already-loaded image (and keeps it loaded after NvmlLibrary's dlclose).
private func fakeCounter(_ name: String, handle: UnsafeMutableRawPointer) -> Int32? {
    dlsym(handle, name).map { $0.assumingMemoryBound(to: Int32.self).pointee }
}

// MARK: - Tests

@Suite struct NvmlLibraryTests {
    @Test func absentLibraryThrowsLibraryNotFoundNamingThePath() {
        let path = "/nonexistent-\(UUID().uuidString)/libnvidia-ml.so.1"
        do {
            _ = try NvmlLibrary(path: path)
            Issue.record("loading \(path) should have failed")
        } catch let error as NvmlError {
            guard case .libraryNotFound(let reported, let dlerror) = error else {
                Issue.record("expected libraryNotFound, got \(error)")
                return
            }
            #expect(reported == path)
            #expect(!dlerror.isEmpty)
            #expect(error.description.contains(path))
        } catch {
            Issue.record("expected NvmlError, got \(error)")
        }
    }

    @Test func fakeNvmlReportsDevicesEnergyPowerAndMemory() throws {
        try withNvmlTempDirectory { directory in
            let path = try buildFakeNvml(in: directory, test: "fakeNvmlReportsDevicesEnergyPowerAndMemory")
            let nvml = try NvmlLibrary(path: path)

            let devices = try nvml.devices()
            #expect(devices == [
                NvmlDevice(index: 0, name: "NVIDIA H100 80GB HBM3", memoryTotalBytes: 85_520_809_984, supportsTotalEnergy: true),
                NvmlDevice(index: 1, name: "Tesla P100", memoryTotalBytes: 17_071_734_784, supportsTotalEnergy: false),
            ])

            let first = try #require(try nvml.totalEnergyMillijoules(device: 0))
            let second = try #require(try nvml.totalEnergyMillijoules(device: 0))
            #expect(second > first)
            #expect(try nvml.totalEnergyMillijoules(device: 1) == nil)

            #expect(try nvml.powerMilliwatts(device: 0) == 312_000)
            #expect(try nvml.powerMilliwatts(device: 1) == 41_500)
        }
    }

    @Test func badDeviceIndexNamesTheIndexAndTheCount() throws {
        try withNvmlTempDirectory { directory in
            let path = try buildFakeNvml(in: directory, test: "badDeviceIndexNamesTheIndexAndTheCount")
            let nvml = try NvmlLibrary(path: path)
            #expect(throws: NvmlError.deviceIndexOutOfRange(index: 2, count: 2)) { try nvml.powerMilliwatts(device: 2) }
            #expect(throws: NvmlError.deviceIndexOutOfRange(index: -1, count: 2)) { try nvml.totalEnergyMillijoules(device: -1) }
        }
    }

    @Test func missingSymbolIsNamed() throws {
        try withNvmlTempDirectory { directory in
            let path = try buildFakeNvml(in: directory, defines: ["OMIT_POWER"], test: "missingSymbolIsNamed")
            do {
                _ = try NvmlLibrary(path: path)
                Issue.record("a library without nvmlDeviceGetPowerUsage should be refused")
            } catch let error as NvmlError {
                #expect(error == .missingSymbol("nvmlDeviceGetPowerUsage"))
                #expect(error.description.contains("nvmlDeviceGetPowerUsage"))
            }
        }
    }

    @Test func failedInitIsReportedWithItsCode() throws {
        try withNvmlTempDirectory { directory in
            let path = try buildFakeNvml(in: directory, defines: ["INIT_FAILS"], test: "failedInitIsReportedWithItsCode")
            do {
                _ = try NvmlLibrary(path: path)
                Issue.record("nvmlInit_v2 returning 9 should fail the init")
            } catch let error as NvmlError {
                #expect(error == .call(function: "nvmlInit_v2", code: 9))
                #expect(error.description.contains("NVML_ERROR_DRIVER_NOT_LOADED"))
            }
        }
    }

    @Test func deinitShutsNvmlDown() throws {
        try withNvmlTempDirectory { directory in
            let path = try buildFakeNvml(in: directory, test: "deinitShutsNvmlDown")
            let watcher = try #require(dlopen(path, RTLD_NOW | RTLD_LOCAL))
            defer { dlclose(watcher) }
            do {
                let nvml = try NvmlLibrary(path: path)
                #expect(try nvml.devices().count == 2)
                #expect(fakeCounter("fake_nvml_init_calls", handle: watcher) == 1)
                #expect(fakeCounter("fake_nvml_shutdown_calls", handle: watcher) == 0)
            }
            #expect(fakeCounter("fake_nvml_shutdown_calls", handle: watcher) == 1)
        }
    }
}
