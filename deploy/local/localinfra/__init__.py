"""The local Kafka and PostgreSQL launcher behind `deploy/local/infra.py`: standard library only.

`infra.py` is the entry point and the module the test fixtures import; it re-exports the public names. Modules,
from the bottom up:

- `common`: where things live, the services, the security layouts, `InfraError`;
- `processes`: pids, process groups, ports, log tails;
- `kafka_protocol`, `probe`: the readiness probe (request framing, SASL/SCRAM, a Metadata request);
- `files`, `credentials`: state files and the folder lock; the generated passwords;
- `tls`, `jars`, `kafka`: the broker's TLS files and jars; formatting, running and stopping it;
- `provisioning`, `postgres`: the roles and databases; creating, running and stopping the cluster;
- `state`, `leases`, `local_infra`: a state folder's paths, ports and addresses; who uses it; `LocalInfra`;
- `private`, `cli`: private copies for fault tests and pruning them; the command line.
"""
