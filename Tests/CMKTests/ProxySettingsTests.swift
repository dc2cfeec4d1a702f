import CMKCore
import Testing

/// Which requests go through a proxy: curl's rules for HTTPS_PROXY, HTTP_PROXY and NO_PROXY, and
/// the addresses that never do.
@Suite("Proxy settings")
struct ProxySettingsTests {
    struct Case: CustomStringConvertible, Sendable {
        var environment: [String: String]
        var url: String
        var proxy: String?
        var description: String { "\(url) with \(environment.sorted { $0.key < $1.key })" }
    }

    static let proxy = "http://proxy.corp:3128"

    static let cases: [Case] = [
        Case(environment: ["HTTPS_PROXY": proxy], url: "https://login.microsoftonline.com/t", proxy: proxy),
        Case(environment: ["https_proxy": proxy, "HTTPS_PROXY": "http://other:1"], url: "https://a.b/", proxy: proxy),
        Case(environment: ["HTTPS_PROXY": "proxy.corp:3128"], url: "https://a.b/", proxy: proxy),
        Case(environment: ["HTTP_PROXY": proxy], url: "https://a.b/", proxy: nil),
        Case(environment: ["HTTP_PROXY": proxy], url: "http://a.b/", proxy: proxy),
        Case(environment: ["HTTPS_PROXY": proxy], url: "http://a.b/", proxy: nil),
        // NO_PROXY: a bare domain and a leading dot both match the domain and its subdomains.
        Case(environment: ["HTTPS_PROXY": proxy, "NO_PROXY": "vault.azure.net"], url: "https://v.vault.azure.net/",
             proxy: nil),
        Case(environment: ["HTTPS_PROXY": proxy, "NO_PROXY": ".vault.azure.net"], url: "https://vault.azure.net/",
             proxy: nil),
        Case(environment: ["HTTPS_PROXY": proxy, "NO_PROXY": "vault.azure.net"], url: "https://notvault.azure.net/",
             proxy: proxy),
        Case(environment: ["HTTPS_PROXY": proxy, "no_proxy": "*"], url: "https://graph.microsoft.com/", proxy: nil),
        Case(environment: ["HTTPS_PROXY": proxy, "NO_PROXY": " a.com , GRAPH.microsoft.com:443 "],
             url: "https://graph.microsoft.com/", proxy: nil),
        Case(environment: ["HTTPS_PROXY": proxy, "no_proxy": "x.com", "NO_PROXY": "*"], url: "https://a.b/",
             proxy: proxy),
        Case(environment: ["HTTPS_PROXY": proxy, "NO_PROXY": "10.0.0.0/8"], url: "https://10.2.3.4/", proxy: nil),
        Case(environment: ["HTTPS_PROXY": proxy, "NO_PROXY": "10.0.0.0/8"], url: "https://11.2.3.4/", proxy: proxy),
        // Never through a proxy: loopback and instance metadata, whatever the variables say.
        Case(environment: ["HTTPS_PROXY": proxy, "HTTP_PROXY": proxy], url: "http://169.254.169.254/metadata",
             proxy: nil),
        Case(environment: ["HTTP_PROXY": proxy], url: "http://[fd00:ec2::254]/latest", proxy: nil),
        Case(environment: ["HTTPS_PROXY": proxy], url: "https://127.0.0.1:8443/x", proxy: nil),
        Case(environment: ["HTTPS_PROXY": proxy], url: "https://localhost/x", proxy: nil),
        Case(environment: [:], url: "https://a.b/", proxy: nil),
    ]

    @Test("the proxy chosen for a request", arguments: cases)
    func choice(_ testCase: Case) throws {
        let client = try HTTPClient(environment: testCase.environment)
        #expect(try client.proxy(for: testCase.url) == testCase.proxy)
    }
}
