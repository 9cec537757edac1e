//! The typed model of everything the input describes.

use std::collections::{BTreeMap, HashMap};

use crate::certmanager::CertManagerResources;
use crate::istio::IstioResources;
use crate::k8s::{
    ConfigMap, Namespace, NetworkPolicy, Secret, Service, ServiceAccount, WebhookConfiguration,
    Workload,
};
use crate::object::{Object, ObjectId};

pub const CERTIFICATE_FILE_API_VERSION: &str = "meshaudit.io/v1";
pub const CERTIFICATE_FILE_KIND: &str = "CertificateFile";

/// Certificates that came from a file or an endpoint rather than from a Kubernetes object.
#[derive(Debug, Clone)]
pub struct CertificateFile {
    pub object: ObjectId,
    /// The file path, or `tls://host:port`.
    pub path: String,
    pub certificates: Vec<crate::CertificateInfo>,
}

#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub objects: Vec<Object>,
    pub namespaces: BTreeMap<String, Namespace>,
    pub workloads: Vec<Workload>,
    pub services: Vec<Service>,
    pub service_accounts: Vec<ServiceAccount>,
    pub network_policies: Vec<NetworkPolicy>,
    pub webhook_configurations: Vec<WebhookConfiguration>,
    pub config_maps: Vec<ConfigMap>,
    pub secrets: Vec<Secret>,
    pub istio: IstioResources,
    /// Certificates from PEM/DER files or live endpoints (`meshaudit certs`), each file or
    /// endpoint with a synthetic object so findings can name it.
    pub certificate_files: Vec<CertificateFile>,
    pub cert_manager: CertManagerResources,
    workloads_by_namespace: HashMap<String, Vec<usize>>,
    network_policies_by_namespace: HashMap<String, Vec<usize>>,
    /// Pod-template label key → value → workloads carrying it.
    workloads_by_label: HashMap<String, HashMap<String, Vec<usize>>>,
}

impl Inventory {
    pub fn with_objects(objects: Vec<Object>) -> Self {
        Inventory {
            objects,
            ..Inventory::default()
        }
    }

    pub fn object(&self, id: ObjectId) -> &Object {
        &self.objects[id]
    }

    /// Builds the lookup indexes; call once after every resource is added.
    pub fn build_indexes(&mut self) {
        self.workloads_by_namespace.clear();
        for (i, w) in self.workloads.iter().enumerate() {
            self.workloads_by_namespace
                .entry(w.namespace.clone())
                .or_default()
                .push(i);
        }
        self.workloads_by_label.clear();
        for (i, w) in self.workloads.iter().enumerate() {
            for (k, v) in &w.labels {
                self.workloads_by_label
                    .entry(k.clone())
                    .or_default()
                    .entry(v.clone())
                    .or_default()
                    .push(i);
            }
        }
        self.network_policies_by_namespace.clear();
        for (i, p) in self.network_policies.iter().enumerate() {
            self.network_policies_by_namespace
                .entry(p.namespace.clone())
                .or_default()
                .push(i);
        }
    }

    /// Indexes of the workloads in `namespace`, in order.
    pub fn workload_indexes_in(&self, namespace: &str) -> &[usize] {
        self.workloads_by_namespace
            .get(namespace)
            .map_or(&[], Vec::as_slice)
    }

    pub fn workloads_in<'a>(&'a self, namespace: &str) -> impl Iterator<Item = &'a Workload> + 'a {
        self.workloads_by_namespace
            .get(namespace)
            .into_iter()
            .flatten()
            .map(|&i| &self.workloads[i])
    }

    /// The workloads (indexes, in order) in any namespace whose pod labels carry every pair of
    /// `selector`; every workload for an empty selector.
    pub fn workloads_matching(&self, selector: &crate::selector::Labels) -> Vec<usize> {
        if selector.is_empty() {
            return (0..self.workloads.len()).collect();
        }
        // Start from the rarest pair, then check the others.
        let mut rarest: Option<&Vec<usize>> = None;
        for (k, v) in selector {
            let Some(list) = self.workloads_by_label.get(k).and_then(|m| m.get(v)) else {
                return Vec::new();
            };
            if rarest.is_none_or(|r| list.len() < r.len()) {
                rarest = Some(list);
            }
        }
        rarest
            .into_iter()
            .flatten()
            .copied()
            .filter(|&i| crate::selector::map_selects(selector, &self.workloads[i].labels))
            .collect()
    }

    pub fn network_policies_in<'a>(
        &'a self,
        namespace: &str,
    ) -> impl Iterator<Item = &'a NetworkPolicy> + 'a {
        self.network_policies_by_namespace
            .get(namespace)
            .into_iter()
            .flatten()
            .map(|&i| &self.network_policies[i])
    }

    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.get(name)
    }

    /// Adds certificates read from `path` (a file, or `tls://host:port` for an endpoint) as a
    /// `CertificateFile` object.
    pub fn add_certificate_file(
        &mut self,
        path: &str,
        certificates: Vec<crate::CertificateInfo>,
    ) -> ObjectId {
        let id = self.objects.len();
        self.objects.push(Object {
            api_version: CERTIFICATE_FILE_API_VERSION.to_owned(),
            kind: CERTIFICATE_FILE_KIND.to_owned(),
            name: path.to_owned(),
            namespace: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            origin: crate::Location::new(std::sync::Arc::from(path), 1, 1),
            helm_source: None,
            node: crate::Node::new(crate::Value::Map(Vec::new()), 1, 1),
        });
        self.certificate_files.push(CertificateFile {
            object: id,
            path: path.to_owned(),
            certificates,
        });
        id
    }
}
