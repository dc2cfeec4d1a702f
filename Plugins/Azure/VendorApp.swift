/// The vendor's Azure application and the admin-consent URL of its procedure.
enum VendorApp {
    static let applicationID = "251e3919-1940-4296-bb8b-6b9a5e8a4805"

    /// The seed procedure's URL, for the cloud's login host and, when known, the tenant.
    ///
    /// With `common`, Entra asks which tenant to consent for; the tenant-specific form sends the
    /// admin straight to theirs, which matters for guests of several tenants.
    static func consentURL(cloud: AzureCloud, tenant: String?) -> String {
        "https://\(cloud.loginHost)/\(tenant ?? "common")/oauth2/authorize?response_type=code"
            + "&client_id=\(applicationID)&redirect_uri=https://experience.adobe.com&scope=user.read"
    }
}
