//! Kubernetes: clusters read through their API (collector, records, storage, views), the
//! Pod Security Standards as the admission plugin judges them, workload hygiene, and the
//! manifests `coastguard check-pod` reads.

pub mod calico;
pub mod collector;
pub mod configured;
pub mod hygiene;
pub mod in_cluster;
pub mod kubeconfig;
pub mod manage;
pub mod mesh;
pub mod network;
pub mod objects;
pub mod pss;
pub mod rbac;
pub mod store;
pub mod views;
