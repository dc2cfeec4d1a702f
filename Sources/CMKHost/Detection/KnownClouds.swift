package import CMKCore

/// Clouds cmk can name even without their provider, so that an admin on one hears "this is GCE,
/// and no provider for it is installed" rather than "nothing detected".
///
/// This table only names platforms; deciding belongs to providers. A provider with the same
/// `provider` name, once installed, replaces its entry.
package struct KnownCloud: Sendable, Equatable {
    /// The provider name that would serve it.
    package var provider: String
    package var name: String
    /// Values of `/run/cloud-init/cloud-id`.
    package var cloudIDs: [String]
    /// (DMI field, exact value) pairs.
    package var dmi: [(field: String, value: String)]

    package static func == (lhs: KnownCloud, rhs: KnownCloud) -> Bool { lhs.provider == rhs.provider }

    package static let all: [KnownCloud] = [
        KnownCloud(
            provider: "aws",
            name: "Amazon Web Services",
            cloudIDs: ["aws", "aws-china", "aws-gov"],
            dmi: [("sys_vendor", "Amazon EC2"), ("bios_vendor", "Amazon EC2")]
        ),
        KnownCloud(
            provider: "azure",
            name: "Microsoft Azure",
            cloudIDs: ["azure", "azure-china", "azure-gov"],
            dmi: [("chassis_asset_tag", "7783-7084-3265-9085-8269-3286-77")]
        ),
        KnownCloud(
            provider: "gcp",
            name: "Google Compute Engine",
            cloudIDs: ["gce"],
            dmi: [("product_name", "Google Compute Engine"), ("product_name", "Google")]
        ),
        KnownCloud(
            provider: "oci",
            name: "Oracle Cloud Infrastructure",
            cloudIDs: ["oracle"],
            dmi: [("chassis_asset_tag", "OracleCloud.com")]
        ),
        KnownCloud(
            provider: "alibaba",
            name: "Alibaba Cloud",
            cloudIDs: ["aliyun"],
            dmi: [("sys_vendor", "Alibaba Cloud")]
        ),
        KnownCloud(
            provider: "digitalocean",
            name: "DigitalOcean",
            cloudIDs: ["digitalocean"],
            dmi: [("sys_vendor", "DigitalOcean")]
        ),
    ]

    /// The signals in `snapshot` that point at this cloud.
    package func evidence(in snapshot: PlatformSnapshot) -> [String] {
        var found: [String] = []
        if let cloudID = snapshot.cloudID, cloudIDs.contains(cloudID) {
            found.append("\(PlatformSnapshot.cloudIDPath) = \"\(cloudID)\"")
        }
        for (field, value) in dmi where snapshot.dmi(field) == value {
            found.append("\(PlatformSnapshot.dmiDirectory)/\(field) = \"\(value)\"")
        }
        return found
    }
}
