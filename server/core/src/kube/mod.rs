//! Kubernetes: the Pod Security Standards as the admission plugin judges them, and the
//! manifests `coastguard check-pod` reads.

pub mod collector;
pub mod kubeconfig;
pub mod manage;
pub mod objects;
pub mod pss;
pub mod store;
pub mod views;
