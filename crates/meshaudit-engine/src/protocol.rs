//! Istio's protocol selection for a port: `appProtocol`, else the port name (`<protocol>` or
//! `<protocol>-<suffix>`), else automatic detection. The protocol decides whether the server
//! proxy parses HTTP, and so whether request-level (L7) authorization fields can be enforced.

use meshaudit_model::k8s::ServicePort;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Http,
    Http2,
    Grpc,
    GrpcWeb,
    Https,
    Tls,
    Tcp,
    Mongo,
    Mysql,
    Redis,
    Udp,
    /// Not declared: the proxy sniffs the first bytes; HTTP/1.1 and HTTP/2 are detected, anything
    /// else is handled as opaque TCP.
    Auto,
}

/// How the server proxy treats a connection on the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Parsed as HTTP: every authorization field applies.
    Http,
    /// Opaque bytes: only connection-level fields (principals, namespaces, IPs, ports) apply.
    Tcp,
    /// Decided per connection by sniffing.
    Detected,
}

impl Protocol {
    pub fn parse(name: &str) -> Option<Protocol> {
        Some(match name.to_ascii_lowercase().as_str() {
            "http" => Protocol::Http,
            "http2" | "kubernetes.io/h2c" => Protocol::Http2,
            "grpc" => Protocol::Grpc,
            "grpc-web" => Protocol::GrpcWeb,
            "https" | "kubernetes.io/wss" => Protocol::Https,
            "tls" => Protocol::Tls,
            "tcp" => Protocol::Tcp,
            "mongo" => Protocol::Mongo,
            "mysql" => Protocol::Mysql,
            "redis" => Protocol::Redis,
            "udp" => Protocol::Udp,
            "kubernetes.io/ws" => Protocol::Http,
            _ => return None,
        })
    }

    /// The protocol Istio selects for a Service port, and the field that decided it.
    pub fn of_service_port(port: &ServicePort) -> (Protocol, &'static str) {
        if let Some(app) = port.app_protocol.as_deref() {
            // A set appProtocol decides, even one Istio does not know (then: detection).
            return match Protocol::parse(app) {
                Some(p) => (p, "appProtocol"),
                None => (Protocol::by_port_number(port.port), ""),
            };
        }
        if port.protocol.as_deref() == Some("UDP") {
            return (Protocol::Udp, "protocol");
        }
        if let Some(name) = port.name.as_deref() {
            if let Some(p) = Protocol::parse(name) {
                return (p, "name");
            }
            // `grpc-web` must be tried before the generic prefix split.
            if name.to_ascii_lowercase().starts_with("grpc-web-") {
                return (Protocol::GrpcWeb, "name");
            }
            if let Some(p) = name
                .split_once('-')
                .and_then(|(prefix, _)| Protocol::parse(prefix))
            {
                return (p, "name");
            }
        }
        // Istio checks the well-known ports against the Service port.
        (Protocol::by_port_number(port.port), "")
    }

    /// Undeclared ports: Istio treats the well-known server-first ports (SMTP, DNS, MySQL,
    /// MongoDB) as TCP and sniffs every other one.
    pub fn by_port_number(port: u16) -> Protocol {
        match port {
            25 | 53 | 3306 | 27017 => Protocol::Tcp,
            _ => Protocol::Auto,
        }
    }

    pub fn layer(self) -> Layer {
        match self {
            Protocol::Http | Protocol::Http2 | Protocol::Grpc | Protocol::GrpcWeb => Layer::Http,
            Protocol::Auto => Layer::Detected,
            _ => Layer::Tcp,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Http2 => "http2",
            Protocol::Grpc => "grpc",
            Protocol::GrpcWeb => "grpc-web",
            Protocol::Https => "https",
            Protocol::Tls => "tls",
            Protocol::Tcp => "tcp",
            Protocol::Mongo => "mongo",
            Protocol::Mysql => "mysql",
            Protocol::Redis => "redis",
            Protocol::Udp => "udp",
            Protocol::Auto => "auto",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(name: Option<&str>, app: Option<&str>) -> ServicePort {
        ServicePort {
            name: name.map(str::to_owned),
            port: 80,
            target_port: None,
            protocol: None,
            app_protocol: app.map(str::to_owned),
            node_port: None,
            resolved_target_ports: Vec::new(),
        }
    }

    #[test]
    fn selection_order_is_app_protocol_then_name_then_detection() {
        assert_eq!(
            Protocol::of_service_port(&port(Some("tcp-db"), Some("http"))).0,
            Protocol::Http
        );
        assert_eq!(
            Protocol::of_service_port(&port(Some("grpc-api"), None)).0,
            Protocol::Grpc
        );
        assert_eq!(
            Protocol::of_service_port(&port(Some("grpc-web-ui"), None)).0,
            Protocol::GrpcWeb
        );
        assert_eq!(
            Protocol::of_service_port(&port(Some("tcp"), None)).0,
            Protocol::Tcp
        );
        assert_eq!(
            Protocol::of_service_port(&port(Some("web"), None)).0,
            Protocol::Auto
        );
        assert_eq!(
            Protocol::of_service_port(&port(None, None)).0,
            Protocol::Auto
        );
        assert_eq!(Protocol::Tcp.layer(), Layer::Tcp);
        assert_eq!(Protocol::Https.layer(), Layer::Tcp);
        assert_eq!(Protocol::Grpc.layer(), Layer::Http);
    }
}
