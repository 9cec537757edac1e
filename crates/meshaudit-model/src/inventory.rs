//! The typed model of everything the input describes.

use std::collections::{BTreeMap, HashMap};

use crate::certmanager::CertManagerResources;
use crate::idx::{NetworkPolicyId, ServiceId, WorkloadId};
use crate::istio::IstioResources;
use crate::k8s::{
    ConfigMap, Namespace, NetworkPolicy, Secret, Service, ServiceAccount, WebhookConfiguration,
    Workload,
};
use crate::linkerd::LinkerdResources;
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
    /// Linkerd's policy resources, routes and `linkerd-config`. Per-workload and per-namespace
    /// Linkerd settings are on [`Workload::linkerd`] and [`Namespace::linkerd`].
    pub linkerd: LinkerdResources,
    /// Certificates from PEM/DER files or live endpoints (`meshaudit certs`), each file or
    /// endpoint with a synthetic object so findings can name it.
    pub certificate_files: Vec<CertificateFile>,
    pub cert_manager: CertManagerResources,
    workloads_by_namespace: HashMap<String, Vec<WorkloadId>>,
    network_policies_by_namespace: HashMap<String, Vec<NetworkPolicyId>>,
    /// Pod-template label key → value → workloads carrying it.
    workloads_by_label: HashMap<String, HashMap<String, Vec<WorkloadId>>>,
}

impl Inventory {
    pub fn with_objects(objects: Vec<Object>) -> Self {
        Inventory {
            objects,
            ..Inventory::default()
        }
    }

    pub fn object(&self, id: ObjectId) -> &Object {
        &self.objects[id.index()]
    }

    pub fn workload(&self, id: WorkloadId) -> &Workload {
        id.of(&self.workloads)
    }

    /// Every workload's id, in order.
    pub fn workload_ids(&self) -> impl DoubleEndedIterator<Item = WorkloadId> + ExactSizeIterator {
        WorkloadId::all(&self.workloads)
    }

    pub fn service(&self, id: ServiceId) -> &Service {
        id.of(&self.services)
    }

    pub fn network_policy(&self, id: NetworkPolicyId) -> &NetworkPolicy {
        id.of(&self.network_policies)
    }

    /// Every object with its id, in order.
    pub fn objects_with_ids(&self) -> impl ExactSizeIterator<Item = (ObjectId, &Object)> + '_ {
        self.objects
            .iter()
            .enumerate()
            .map(|(i, o)| (ObjectId::from_index(i), o))
    }

    /// Builds the lookup indexes; call once after every resource is added.
    pub fn build_indexes(&mut self) {
        self.workloads_by_namespace.clear();
        for (i, w) in WorkloadId::enumerate(&self.workloads) {
            self.workloads_by_namespace
                .entry(w.namespace.clone())
                .or_default()
                .push(i);
        }
        self.workloads_by_label.clear();
        for (i, w) in WorkloadId::enumerate(&self.workloads) {
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
        for (i, p) in NetworkPolicyId::enumerate(&self.network_policies) {
            self.network_policies_by_namespace
                .entry(p.namespace.clone())
                .or_default()
                .push(i);
        }
    }

    /// Indexes of the workloads in `namespace`, in order.
    pub fn workload_indexes_in(&self, namespace: &str) -> &[WorkloadId] {
        self.workloads_by_namespace
            .get(namespace)
            .map_or(&[], Vec::as_slice)
    }

    pub fn workloads_in<'a>(&'a self, namespace: &str) -> impl Iterator<Item = &'a Workload> + 'a {
        self.workloads_by_namespace
            .get(namespace)
            .into_iter()
            .flatten()
            .map(|&i| self.workload(i))
    }

    /// The workloads carrying the pair of `selector` that the fewest carry (a superset of those
    /// it selects), or `None` when no workload carries one of its pairs (or it has none).
    fn rarest_pair(&self, selector: &crate::selector::Labels) -> Option<&[WorkloadId]> {
        let mut rarest: Option<&[WorkloadId]> = None;
        for (k, v) in selector {
            let list = self.workloads_by_label.get(k).and_then(|m| m.get(v))?;
            if rarest.is_none_or(|r| list.len() < r.len()) {
                rarest = Some(list);
            }
        }
        rarest
    }

    /// The workloads (indexes, in order) in any namespace whose pod labels carry every pair of
    /// `selector`; every workload for an empty selector.
    pub fn workloads_matching(&self, selector: &crate::selector::Labels) -> Vec<WorkloadId> {
        if selector.is_empty() {
            return self.workload_ids().collect();
        }
        // Start from the rarest pair, then check the others.
        let Some(rarest) = self.rarest_pair(selector) else {
            return Vec::new();
        };
        rarest
            .iter()
            .copied()
            .filter(|&i| crate::selector::map_selects(selector, &self.workload(i).labels))
            .collect()
    }

    /// The workloads (indexes, in order) of `namespace` whose pod labels carry every pair of
    /// `selector`; every workload of the namespace for an empty selector. Costs the smaller of
    /// the namespace's workload count and the rarest pair's count across the cluster: where
    /// every namespace runs the same app names (`app: api` in each), neither the cluster-wide
    /// label list nor the namespace alone is small, but one of the two always is.
    pub fn workloads_matching_in(
        &self,
        namespace: &str,
        selector: &crate::selector::Labels,
    ) -> Vec<WorkloadId> {
        let in_namespace = self.workload_indexes_in(namespace);
        if selector.is_empty() {
            return in_namespace.to_vec();
        }
        let Some(rarest) = self.rarest_pair(selector) else {
            return Vec::new();
        };
        let selects =
            |i: WorkloadId| crate::selector::map_selects(selector, &self.workload(i).labels);
        if rarest.len() < in_namespace.len() {
            rarest
                .iter()
                .copied()
                .filter(|&i| self.workload(i).namespace == namespace && selects(i))
                .collect()
        } else {
            in_namespace
                .iter()
                .copied()
                .filter(|&i| selects(i))
                .collect()
        }
    }

    pub fn network_policies_in<'a>(
        &'a self,
        namespace: &str,
    ) -> impl Iterator<Item = &'a NetworkPolicy> + 'a {
        self.network_policies_by_namespace
            .get(namespace)
            .into_iter()
            .flatten()
            .map(|&i| self.network_policy(i))
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
        let id = ObjectId::from_index(self.objects.len());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::Workload;
    use crate::selector::Labels;

    fn workload(namespace: &str, name: &str, labels: &[(&str, &str)]) -> Workload {
        Workload {
            object: ObjectId::from_index(0),
            kind: "Deployment".into(),
            namespace: namespace.into(),
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            annotations: BTreeMap::new(),
            service_account: "default".into(),
            service_account_explicit: false,
            host_network: false,
            containers: Vec::new(),
            init_containers: Vec::new(),
            run_as_user: None,
            template_path: &[],
            linkerd: None,
        }
    }

    fn selector(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The same app names in every namespace: the namespaced lookup gives exactly what the
    /// cluster-wide one filtered by namespace gives, whichever list it starts from.
    #[test]
    fn workloads_matching_in_equals_filtered_cluster_lookup() {
        let mut inv = Inventory::default();
        for ns in ["a", "b", "c"] {
            inv.workloads
                .push(workload(ns, "api", &[("app", "api"), ("tier", "web")]));
            inv.workloads
                .push(workload(ns, "db", &[("app", "db"), ("tier", "data")]));
        }
        // A namespace larger than the label lists, so the other branch is taken too.
        for i in 0..5 {
            inv.workloads
                .push(workload("big", &format!("w{i}"), &[("app", "other")]));
        }
        inv.workloads
            .push(workload("big", "api", &[("app", "api"), ("tier", "web")]));
        inv.build_indexes();
        let selectors = [
            selector(&[("app", "api")]),
            selector(&[("app", "api"), ("tier", "web")]),
            selector(&[("app", "api"), ("tier", "data")]),
            selector(&[("app", "missing")]),
            selector(&[]),
        ];
        for ns in ["a", "b", "c", "big", "absent"] {
            for sel in &selectors {
                let expected: Vec<WorkloadId> = if sel.is_empty() {
                    inv.workload_indexes_in(ns).to_vec()
                } else {
                    inv.workloads_matching(sel)
                        .into_iter()
                        .filter(|&i| inv.workload(i).namespace == ns)
                        .collect()
                };
                assert_eq!(inv.workloads_matching_in(ns, sel), expected, "{ns} {sel:?}");
            }
        }
        assert_eq!(
            inv.workloads_matching_in("b", &selectors[0]),
            vec![WorkloadId::new(2)]
        );
        assert_eq!(
            inv.workloads_matching_in("big", &selectors[0]),
            vec![WorkloadId::new(11)]
        );
    }
}
