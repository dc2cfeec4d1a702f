#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk-azure-emulator needs Glibc or Musl")
#endif

/// A file's bytes, or nil when it cannot be read.
func readFile(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count > 0 { bytes += buffer[0..<count] }
        if count < buffer.count { return ferror(file) == 0 ? bytes : nil }
    }
}

func fileExists(_ path: String) -> Bool { access(path, R_OK) == 0 }

/// When stdin is a pipe (a test started us), exits once the other end closes: a test process that
/// dies, however it dies, takes its emulator with it. A terminal or /dev/null is left alone.
func stopWhenStdinPipeCloses() {
    var info = stat()
    guard fstat(0, &info) == 0, (info.st_mode & S_IFMT) == S_IFIFO else { return }
    var thread = pthread_t()
    pthread_create(
        &thread,
        nil,
        { _ in
            var byte: UInt8 = 0
            while true {
                let count = read(0, &byte, 1)
                if count == 0 || (count < 0 && errno != EINTR) { break }
            }
            exit(0)
        },
        nil
    )
    pthread_detach(thread)
}

/// `Tests/Fixtures/azure` of the package, looked for upwards from the working directory and from
/// the executable (`.build/<triple>/debug/`), or given by `CMK_AZURE_FIXTURES`.
func fixturesDirectory() -> String? {
    if let explicit = getenv("CMK_AZURE_FIXTURES") { return String(cString: explicit) }
    var starts: [String] = []
    if let cwd = getcwd(nil, 0) {
        starts.append(String(cString: cwd))
        free(cwd)
    }
    var buffer = [CChar](repeating: 0, count: 4097)
    let length = readlink("/proc/self/exe", &buffer, 4096)
    if length > 0 {
        let executable = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        starts.append(String(executable[..<(executable.lastIndex(of: "/") ?? executable.endIndex)]))
    }
    for start in starts {
        var directory = start
        while !directory.isEmpty {
            let candidate = "\(directory)/Tests/Fixtures/azure"
            if fileExists("\(candidate)/rest-api-specs") { return candidate }
            guard let slash = directory.lastIndex(of: "/") else { break }
            directory = String(directory[..<slash])
        }
    }
    return nil
}
