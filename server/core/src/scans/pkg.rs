//! One identity per package, whatever the scanner: package-url (purl) type plus a
//! normalised name, so Trivy's `libcrypto1.1` (type `alpine`) and Grype's (type `apk`)
//! are the same package, and one finding.

/// A package as a scanner reported it, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRef {
    /// purl type: `apk`, `deb`, `rpm`, `npm`, `pypi`, `maven`, `golang`, `cargo`, `gem`...
    pub kind: String,
    /// The identity within the type (`org.apache:commons-text`, `@scope/pkg`, `requests`).
    pub name: String,
    pub version: String,
    pub purl: Option<String>,
}

/// `pkg:type/namespace/name@version?qualifiers#subpath`.
pub struct Purl {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub version: Option<String>,
}

fn decode(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_purl(purl: &str) -> Option<Purl> {
    let rest = purl.strip_prefix("pkg:")?;
    let rest = rest.split('#').next().unwrap_or(rest);
    let rest = rest.split('?').next().unwrap_or(rest);
    let (path, version) = match rest.rsplit_once('@') {
        // An `@` inside the namespace (npm scopes are %40-encoded, but be lenient).
        Some((p, v)) if !v.contains('/') => (p, Some(decode(v))),
        _ => (rest, None),
    };
    let (kind, path) = path.split_once('/')?;
    let (namespace, name) = match path.rsplit_once('/') {
        Some((ns, n)) => (Some(decode(ns)), decode(n)),
        None => (None, decode(path)),
    };
    if name.is_empty() {
        return None;
    }
    Some(Purl {
        kind: kind.to_ascii_lowercase(),
        namespace,
        name,
        version,
    })
}

/// Maps scanner package types (Trivy's, Grype's) onto purl types.
pub fn purl_type(scanner_type: &str) -> String {
    let t = scanner_type.to_ascii_lowercase();
    let mapped = match t.as_str() {
        "alpine" | "wolfi" | "chainguard" | "apk" => "apk",
        "debian" | "ubuntu" | "deb" | "dpkg" => "deb",
        "redhat"
        | "centos"
        | "rocky"
        | "alma"
        | "almalinux"
        | "amazon"
        | "oracle"
        | "fedora"
        | "photon"
        | "suse linux enterprise server"
        | "opensuse"
        | "opensuse.leap"
        | "opensuse.tumbleweed"
        | "sles"
        | "cbl-mariner"
        | "azurelinux"
        | "rpm" => "rpm",
        "npm" | "yarn" | "pnpm" | "node-pkg" | "javascript" => "npm",
        "pip" | "pipenv" | "poetry" | "python-pkg" | "python" | "uv" | "pypi" => "pypi",
        "jar" | "pom" | "gradle" | "sbt" | "java-archive" | "jenkins-plugin" | "maven" | "java" => {
            "maven"
        }
        "gomod" | "gobinary" | "go-module" | "golang" | "go" => "golang",
        "cargo" | "rustbinary" | "rust-crate" | "rust" => "cargo",
        "bundler" | "gemspec" | "gem" | "ruby" => "gem",
        "composer" | "php-composer" | "php" => "composer",
        "nuget" | "dotnet-core" | "dotnet" | "dotnet-deps" => "nuget",
        "conda" | "conda-pkg" => "conda",
        "" => "generic",
        other => return other.to_string(),
    };
    mapped.to_string()
}

fn normalise_name(kind: &str, name: &str) -> String {
    match kind {
        // PEP 503: case-insensitive, runs of -_. are equivalent.
        "pypi" => {
            let lower = name.to_ascii_lowercase();
            let mut out = String::with_capacity(lower.len());
            let mut last_sep = false;
            for c in lower.chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !last_sep {
                        out.push('-');
                    }
                    last_sep = true;
                } else {
                    out.push(c);
                    last_sep = false;
                }
            }
            out
        }
        "npm" | "gem" | "composer" | "nuget" => name.to_ascii_lowercase(),
        _ => name.to_string(),
    }
}

impl PackageRef {
    /// From a purl when there is one (the most precise identity), else from the
    /// scanner's type and name.
    pub fn new(scanner_type: &str, name: &str, version: &str, purl: Option<&str>) -> PackageRef {
        if let Some(p) = purl.filter(|p| !p.is_empty()).and_then(parse_purl) {
            let identity = match (p.kind.as_str(), &p.namespace) {
                ("maven", Some(ns)) => format!("{ns}:{}", p.name),
                ("npm", Some(ns)) if ns.starts_with('@') => format!("{ns}/{}", p.name),
                ("golang", Some(ns)) => format!("{ns}/{}", p.name),
                ("composer", Some(ns)) => format!("{ns}/{}", p.name),
                _ => p.name.clone(),
            };
            return PackageRef {
                name: normalise_name(&p.kind, &identity),
                version: if version.is_empty() {
                    p.version.clone().unwrap_or_default()
                } else {
                    version.to_string()
                },
                kind: p.kind,
                purl: purl.map(str::to_string),
            };
        }
        let kind = purl_type(scanner_type);
        PackageRef {
            name: normalise_name(&kind, name),
            version: version.to_string(),
            kind,
            purl: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanners_agree_on_identity() {
        let trivy = PackageRef::new(
            "alpine",
            "libcrypto1.1",
            "1.1.1c-r0",
            Some("pkg:apk/alpine/libcrypto1.1@1.1.1c-r0?arch=x86_64"),
        );
        let grype = PackageRef::new("apk", "libcrypto1.1", "1.1.1c-r0", None);
        assert_eq!(
            (trivy.kind.as_str(), trivy.name.as_str()),
            (grype.kind.as_str(), grype.name.as_str())
        );
        let jar = PackageRef::new("jar", "org.springframework:spring-beans", "5.3.15", None);
        let from_purl = PackageRef::new(
            "java-archive",
            "spring-beans",
            "5.3.15",
            Some("pkg:maven/org.springframework/spring-beans@5.3.15"),
        );
        assert_eq!(jar.name, from_purl.name);
        assert_eq!(jar.kind, "maven");
        let py = PackageRef::new("pip", "Django_Rest.Framework", "1", None);
        assert_eq!(py.name, "django-rest-framework");
        let scoped = PackageRef::new("npm", "", "", Some("pkg:npm/%40babel/core@7.0.0"));
        assert_eq!(scoped.name, "@babel/core");
        assert_eq!(scoped.version, "7.0.0");
    }
}
