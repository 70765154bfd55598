-- The optional APIs a cluster serves, as its collector last discovered them (JSON array:
-- "calico" for projectcalico.org/v3, "istio" for security.istio.io PeerAuthentication),
-- so that the network pass can tell "no Calico policy" from "no Calico".
ALTER TABLE clusters ADD COLUMN extensions TEXT;
-- The cluster's network layer as the last network pass decided it (JSON:
-- model::kube::ClusterNetwork): Calico, WireGuard, Istio.
ALTER TABLE clusters ADD COLUMN network TEXT;
