import LoopbackTLS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk-azure-emulator needs Glibc or Musl")
#endif

/// `--tls`: the emulator behind a TLS front, so that cmk's production https transport is used.
///
/// The certificates are a test CA and a server certificate for 127.0.0.1 and localhost, made with
/// the `openssl` command in a directory of their own (a new temporary one unless `--tls-dir` names
/// one; existing files there are reused). cmk trusts the CA through `CMK_CA_BUNDLE`, never by
/// turning verification off.
struct TLSMaterial {
    var directory: String
    var caBundle: String { "\(directory)/ca.pem" }
    var certificate: String { "\(directory)/server.pem" }
    var privateKey: String { "\(directory)/server.key" }

    static func prepare(directory: String?) -> Result<TLSMaterial, EmulatorFailure> {
        let path: String
        if let directory {
            guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
                return .failure(EmulatorFailure("cannot create \(directory): \(String(cString: strerror(errno)))"))
            }
            path = directory
        } else {
            var template = Array("/tmp/cmk-azure-emulator-tls-XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else {
                return .failure(EmulatorFailure("cannot make a temporary directory: \(String(cString: strerror(errno)))"))
            }
            path = String(cString: made)
        }
        let material = TLSMaterial(directory: path)
        if fileExists(material.caBundle), fileExists(material.certificate), fileExists(material.privateKey) {
            return .success(material)
        }
        let extensions = "\(path)/server.ext"
        let text = """
            subjectAltName=IP:127.0.0.1,DNS:localhost
            basicConstraints=critical,CA:FALSE
            keyUsage=critical,digitalSignature
            extendedKeyUsage=serverAuth

            """
        guard let file = fopen(extensions, "w") else {
            return .failure(EmulatorFailure("cannot write \(extensions): \(String(cString: strerror(errno)))"))
        }
        fputs(text, file)
        fclose(file)
        let curve = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        let commands = [
            "openssl req -x509 \(curve) -keyout '\(path)/ca.key' -out '\(path)/ca.pem' -days 3650"
                + " -subj '/CN=cmk-azure-emulator test CA' -addext 'basicConstraints=critical,CA:TRUE'"
                + " -addext 'keyUsage=critical,keyCertSign,cRLSign'",
            "openssl req \(curve) -keyout '\(path)/server.key' -out '\(path)/server.csr' -subj '/CN=127.0.0.1'",
            "openssl x509 -req -in '\(path)/server.csr' -CA '\(path)/ca.pem' -CAkey '\(path)/ca.key'"
                + " -CAcreateserial -out '\(path)/server.pem' -days 825 -extfile '\(extensions)'",
        ]
        for command in commands {
            let status = system("\(command) >/dev/null 2>&1")
            guard status == 0 else {
                return .failure(
                    EmulatorFailure(
                        "making the test certificates failed (is the openssl command installed?): \(command)"
                    )
                )
            }
        }
        return .success(material)
    }

    /// Starts the front before `backendPort`; returns the https port.
    func startFront(backendPort: Int, port: Int) -> Result<Int, EmulatorFailure> {
        var error = [CChar](repeating: 0, count: 512)
        let listening = loopback_tls_front_start(certificate, privateKey, Int32(backendPort), Int32(port), &error, 512)
        guard listening > 0 else {
            let text = error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            return .failure(EmulatorFailure(String(decoding: text, as: UTF8.self)))
        }
        return .success(Int(listening))
    }
}

struct EmulatorFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
