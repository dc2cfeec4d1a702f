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
        let file = try ReadOnlyFile(path: path)
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
            block.withUnsafeBufferPointer { Self.compress($0, at: 0, into: &state) }
            pending.removeAll(keepingCapacity: true)
        }
        while input.count - offset >= 64 {
            Self.compress(input, at: offset, into: &state)
            offset += 64
        }
        pending += input[offset...]
    }

    /// Mixes the 64-byte block at `start` into `state` (FIPS 180-4, section 6.2.2).
    private static func compress(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, into state: inout [UInt32]) {
        let k = roundConstants
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for t in 0..<16 {
                let i = start + 4 * t
                w[t] =
                    UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8
                    | UInt32(bytes[i + 3])
            }
            for t in 16..<64 {
                let s0 = w[t - 15].rotatedRight(7) ^ w[t - 15].rotatedRight(18) ^ (w[t - 15] >> 3)
                let s1 = w[t - 2].rotatedRight(17) ^ w[t - 2].rotatedRight(19) ^ (w[t - 2] >> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, h) = (
                state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7]
            )
            for t in 0..<64 {
                let t1 =
                    h &+ (e.rotatedRight(6) ^ e.rotatedRight(11) ^ e.rotatedRight(25)) &+ ((e & f) ^ (~e & g)) &+ k[t]
                    &+ w[t]
                let t2 = (a.rotatedRight(2) ^ a.rotatedRight(13) ^ a.rotatedRight(22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                (h, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            state[0] &+= a; state[1] &+= b; state[2] &+= c; state[3] &+= d
            state[4] &+= e; state[5] &+= f; state[6] &+= g; state[7] &+= h
        }
    }

    /// The first 32 bits of the fractional parts of the cube roots of the first 64 primes.
    private static let roundConstants: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]
}

private extension UInt32 {
    func rotatedRight(_ count: UInt32) -> UInt32 { self >> count | self << (32 - count) }
}
