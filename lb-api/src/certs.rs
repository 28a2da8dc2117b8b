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

#[cfg(test)]
mod tests {
    use std::{os::unix::fs::PermissionsExt as _, sync::Arc};

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// A TLS exchange between an agent (bundle) and a controller (certificate dir): whether
    /// the agent served the client.
    async fn handshake(agent: &Path, controller: &Path, server_ca: &Path) -> bool {
        let server = lb_proto::tls::server_config(
            &agent.join(files::AGENT),
            &agent.join(files::AGENT_KEY),
            &agent.join(files::CLIENT_CA),
        )
        .unwrap();
        let client = lb_proto::tls::client_config(
            &server_ca.join(files::SERVER_CA),
            &controller.join(files::CONTROLLER),
            &controller.join(files::CONTROLLER_KEY),
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let serve = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                return false;
            };
            let mut b = [0u8; 4];
            tls.read_exact(&mut b).await.is_ok() && tls.write_all(b"pong").await.is_ok()
        });
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
        let talked = match connector.connect(name, tcp).await {
            Ok(mut tls) => {
                let mut b = [0u8; 4];
                tls.write_all(b"ping").await.is_ok() && tls.read_exact(&mut b).await.is_ok()
            }
            Err(_) => false,
        };
        serve.await.unwrap() && talked
    }

    #[tokio::test]
    async fn agents_serve_only_the_controller_of_their_ca() {
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join("ours");
        let theirs = dir.path().join("theirs");
        init(&ours).unwrap();
        init(&theirs).unwrap();
        let bundle = dir.path().join("agent");
        issue_agent(&ours, "amp1", &["127.0.0.1".parse().unwrap()], &bundle).unwrap();
        assert!(
            handshake(&bundle, &ours, &ours).await,
            "the controller must be served"
        );
        assert!(
            !handshake(&bundle, &theirs, &ours).await,
            "a client certificate of another CA must be refused"
        );
        assert!(
            !handshake(&bundle, &ours, &theirs).await,
            "the controller must not trust an agent of another server CA"
        );
    }

    #[test]
    fn init_keeps_keys_private_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        init(dir.path()).unwrap();
        for (file, mode) in [
            (files::SERVER_CA_KEY, 0o600),
            (files::CLIENT_CA_KEY, 0o600),
            (files::CONTROLLER_KEY, 0o600),
            (files::HEARTBEAT_KEY, 0o600),
            (files::SERVER_CA, 0o644),
        ] {
            let meta = std::fs::metadata(dir.path().join(file)).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, mode, "{file}");
        }
        let before = std::fs::read(dir.path().join(files::SERVER_CA)).unwrap();
        assert!(matches!(init(dir.path()), Err(CertError::Exists(_))));
        assert_eq!(
            std::fs::read(dir.path().join(files::SERVER_CA)).unwrap(),
            before
        );
    }
}
