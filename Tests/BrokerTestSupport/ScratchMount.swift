import Foundation

/// A small tmpfs mounted for one test, to make a folder really read-only or really full. Permissions alone prove
/// nothing here: the tests run as root, which ignores them.
public final class ScratchMount {
    public let path: String

    public init(sizeKilobytes: Int = 4096, readOnly: Bool = false) throws {
        path = NSTemporaryDirectory() + "miner-index-mount-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Self.mount(["-t", "tmpfs", "-o", "\(readOnly ? "ro" : "rw"),size=\(sizeKilobytes)k", "tmpfs", path])
    }

    public func remount(readOnly: Bool) throws {
        try Self.mount(["-o", "remount,\(readOnly ? "ro" : "rw")", path])
    }

    public func file(_ name: String) -> String { path + "/" + name }

    private static func mount(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/mount")
        process.arguments = arguments
        let output = Pipe()
        process.standardError = output
        process.standardOutput = output
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw MountFailure(description: "mount \(arguments.joined(separator: " ")): \(text)")
        }
    }

    struct MountFailure: Error, CustomStringConvertible { let description: String }

    deinit {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/umount")
        process.arguments = ["-l", path]
        try? process.run()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: path)
    }
}
