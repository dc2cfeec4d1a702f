package import CMKCore
internal import CMKSystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's SHA-256 needs Glibc or Musl")
#endif

/// SHA-256 (FIPS 180-4) of bytes in memory or of a file.
///
/// Written here rather than taken from a library because the package has no dependencies and
/// Foundation (CryptoKit is not on Linux) would cost start-up time; plugins are pinned by digest.
package enum SHA256 {
    package static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The digest as 64 lowercase hex digits, as `sha256sum` prints it.
    package static func hexDigest(of bytes: some Collection<UInt8>) -> String {
        hex(hash(bytes))
    }

    /// The digest of a file, read in 64 KiB chunks so that a large plugin is never held in memory.
    package static func hexDigest(ofFileAt path: String) throws(TrustError) -> String {
        try hexDigest(of: ReadOnlyFile(path: path))
    }

    /// The digest of an opened file: the inode that was judged, whatever its path names by now.
    package static func hexDigest(of file: OpenedFile) throws(TrustError) -> String {
        try hexDigest(of: ReadOnlyFile(file))
    }

    private static func hexDigest(of file: consuming ReadOnlyFile) throws(TrustError) -> String {
        var hasher = SHA256Hasher()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = try file.nextChunk(into: &chunk)
            if count == 0 { break }
            hasher.update(chunk[..<count])
        }
        return hex(hasher.finalize())
    }

    private static func hex(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: digest.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xf)]] }, as: UTF8.self)
    }
}

/// An incremental SHA-256: feed bytes with `update` as they arrive, then `finalize` once.
///
/// Lets a file be hashed while it is read, without keeping it whole.
package struct SHA256Hasher {
    private var state: [UInt32] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]
    /// Fewer than 64 bytes that wait for the rest of their block.
    private var pending: [UInt8] = []
    private var byteCount: UInt64 = 0

    package init() {}

    package mutating func update(_ bytes: some Collection<UInt8>) {
        if bytes.withContiguousStorageIfAvailable({ absorb($0) }) == nil {
            Array(bytes).withUnsafeBufferPointer { absorb($0) }
        }
    }

    /// The 32-byte digest; pads the message with 0x80, zeros and its length in bits (big-endian).
    package consuming func finalize() -> [UInt8] {
        let bitLength = byteCount &* 8
        var padding: [UInt8] = [0x80] + Array(repeating: 0, count: (119 - Int(byteCount % 64)) % 64)
        padding += (0..<8).reversed().map { UInt8(truncatingIfNeeded: bitLength >> ($0 * 8)) }
        update(padding)
        return state.flatMap { word in (0..<4).reversed().map { UInt8(truncatingIfNeeded: word >> ($0 * 8)) } }
    }

    private mutating func absorb(_ input: UnsafeBufferPointer<UInt8>) {
        byteCount &+= UInt64(input.count)
        var offset = 0
        if !pending.isEmpty {
            offset = min(64 - pending.count, input.count)
            pending += input[..<offset]
            guard pending.count == 64 else { return }
            let block = pending
            block.withUnsafeBufferPointer { Self.compress($0, at: 0, blocks: 1, into: &state) }
            pending.removeAll(keepingCapacity: true)
        }
        let blocks = (input.count - offset) / 64
        if blocks > 0 {
            Self.compress(input, at: offset, blocks: blocks, into: &state)
            offset += 64 * blocks
        }
        pending += input[offset...]
    }

    /// Mixes `blocks` 64-byte blocks from `start` into `state` (FIPS 180-4, section 6.2.2), in C:
    /// see `cmk_sha256_blocks`.
    private static func compress(
        _ bytes: UnsafeBufferPointer<UInt8>,
        at start: Int,
        blocks: Int,
        into state: inout [UInt32]
    ) {
        precondition(start >= 0 && blocks >= 0 && bytes.count - start >= 64 * blocks)
        state.withUnsafeMutableBufferPointer { words in
            cmk_sha256_blocks(words.baseAddress!, bytes.baseAddress! + start, blocks)
        }
    }
}
