//! `lb-api certs`: the certificates of Octavia-style two-way TLS between the controller and the
//! agents, made with rcgen. `init` creates a *server CA* (signs agents' server certificates), a
//! *client CA* (signs the controller's client certificate), the controller's client certificate
//! and the heartbeat key; `issue-agent` writes one agent's bundle (its server certificate for
//! the addresses the controller dials, the client CA to trust, the heartbeat key).

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// File names inside the controller's certificate directory.
pub mod files {
    pub const SERVER_CA: &str = "server-ca.pem";
    pub const SERVER_CA_KEY: &str = "server-ca-key.pem";
    pub const CLIENT_CA: &str = "client-ca.pem";
    pub const CLIENT_CA_KEY: &str = "client-ca-key.pem";
    pub const CONTROLLER: &str = "controller.pem";
    pub const CONTROLLER_KEY: &str = "controller-key.pem";
    pub const HEARTBEAT_KEY: &str = "heartbeat.key";
    /// In an agent bundle.
    pub const AGENT: &str = "agent.pem";
    pub const AGENT_KEY: &str = "agent-key.pem";
}

/// Why certificates could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} already exists; refusing to overwrite certificates (remove the directory first)")]
    Exists(PathBuf),
    #[error("certificate: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("random key: {0}")]
    Random(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CertError + '_ {
    move |source| CertError::Io {
        path: path.to_owned(),
        source,
    }
}

fn read(path: &Path) -> Result<String, CertError> {
    std::fs::read_to_string(path).map_err(io(path))
}

fn write(path: &Path, text: &str, secret: bool) -> Result<(), CertError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut options = std::fs::OpenOptions::new();
    options
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if secret { 0o600 } else { 0o644 });
    let mut file = options.open(path).map_err(io(path))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(io(path))
}

fn ca_params(name: &str) -> Result<CertificateParams, CertError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_after = rcgen::date_time_ymd(2046, 1, 1);
    Ok(params)
}

fn leaf_params(
    name: &str,
    sans: Vec<SanType>,
    usage: ExtendedKeyUsagePurpose,
) -> Result<CertificateParams, CertError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.subject_alt_names = sans;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    Ok(params)
}

fn random_hex(bytes: usize) -> Result<String, CertError> {
    let mut buf = vec![0u8; bytes];
    ring_fill(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn ring_fill(buf: &mut [u8]) -> Result<(), CertError> {
    use std::io::Read as _;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .map_err(|e| CertError::Random(e.to_string()))
}

/// Creates the controller's certificate directory. Refuses to overwrite an existing CA.
pub fn init(dir: &Path) -> Result<(), CertError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let server_ca_path = dir.join(files::SERVER_CA);
    if server_ca_path.exists() {
        return Err(CertError::Exists(server_ca_path));
    }
    let server_key = KeyPair::generate()?;
    let server_ca = ca_params("lb-api server CA")?.self_signed(&server_key)?;
    let client_key = KeyPair::generate()?;
    let client_params = ca_params("lb-api client CA")?;
    let client_ca = client_params.self_signed(&client_key)?;
    let controller_key = KeyPair::generate()?;
    let controller = leaf_params(
        "lb-api controller",
        Vec::new(),
        ExtendedKeyUsagePurpose::ClientAuth,
    )?
    .signed_by(
        &controller_key,
        &Issuer::from_params(&client_params, &client_key),
    )?;

    write(
        &dir.join(files::SERVER_CA_KEY),
        &server_key.serialize_pem(),
        true,
    )?;
    write(
        &dir.join(files::CLIENT_CA_KEY),
        &client_key.serialize_pem(),
        true,
    )?;
    write(
        &dir.join(files::CONTROLLER_KEY),
        &controller_key.serialize_pem(),
        true,
    )?;
    write(&dir.join(files::CLIENT_CA), &client_ca.pem(), false)?;
    write(&dir.join(files::CONTROLLER), &controller.pem(), false)?;
    write(
        &dir.join(files::HEARTBEAT_KEY),
        &(random_hex(32)? + "\n"),
        true,
    )?;
    // Written last: its presence marks a complete directory.
    write(&server_ca_path, &server_ca.pem(), false)
}

/// Writes an agent's bundle into `out`: its server certificate (CN `name`, SANs = `addresses`
/// and `name`) signed by the server CA of `dir`, the client CA and the heartbeat key.
pub fn issue_agent(
    dir: &Path,
    name: &str,
    addresses: &[IpAddr],
    out: &Path,
) -> Result<(), CertError> {
    let ca_key = KeyPair::from_pem(&read(&dir.join(files::SERVER_CA_KEY))?)?;
    let issuer = Issuer::from_ca_cert_pem(&read(&dir.join(files::SERVER_CA))?, ca_key)?;
    let mut sans: Vec<SanType> = addresses.iter().map(|a| SanType::IpAddress(*a)).collect();
    sans.push(SanType::DnsName(name.try_into()?));
    let key = KeyPair::generate()?;
    let cert =
        leaf_params(name, sans, ExtendedKeyUsagePurpose::ServerAuth)?.signed_by(&key, &issuer)?;
    std::fs::create_dir_all(out).map_err(io(out))?;
    write(&out.join(files::AGENT_KEY), &key.serialize_pem(), true)?;
    write(&out.join(files::AGENT), &cert.pem(), false)?;
    write(
        &out.join(files::CLIENT_CA),
        &read(&dir.join(files::CLIENT_CA))?,
        false,
    )?;
    write(
        &out.join(files::HEARTBEAT_KEY),
        &read(&dir.join(files::HEARTBEAT_KEY))?,
        true,
    )
}
