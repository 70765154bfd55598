//! Kubernetes: the Pod Security Standards as the admission plugin judges them, and the
//! manifests `coastguard check-pod` reads.

pub mod kubeconfig;
pub mod pss;
