// Leases: "close this session at T unless I renew", kept in Redis and fired by the workers.
export { LEASE_LIMITS, LeaseError, parseLeaseTtl, type Ttl } from './lease-options.js';
export { createLease, type Lease, type LeaseOptions, type KeepAlive, type KeepAliveOptions } from './lease-handle.js';
export {
  acquireLeases,
  renewLease,
  endLeases,
  listLeases,
  readLeaseCounts,
  type LeaseTarget,
  type LeaseInput,
  type LeaseOutcome,
  type LeaseStatus,
  type LeaseEndState,
  type LeaseInfo,
  type LeaseCounts,
  type AcquireOptions,
} from './lease-store.js';
export { withSession, leaseNewSession, WITH_SESSION_DEFAULT_TTL, type WithSessionOptions, type SessionContext } from './with-session.js';
