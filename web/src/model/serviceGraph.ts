// The per-trace service graph: who called whom in one trace, and how often.
//
// Nodes are services (resource service.name; spans without one share the "(unknown service)"
// node), databases (client spans with db.system / db.system.name), messaging systems (producer
// and consumer spans with messaging.system, one node per destination) and uninstrumented peers
// (leaf client spans naming peer.service or server.address). An edge counts calls:
// - a span whose parent belongs to another service is one call parent service -> its service;
// - a database client span is one call service -> database;
// - a producer span is one call service -> destination, a consumer span one call
//   destination -> service (and the producer -> consumer parent link is not counted again);
// - a leaf client span with a peer is one call service -> peer.
// A call is an error when the callee's span (the child, or the client span for a database or
// peer) has status Error. Output order is deterministic (sorted by id).
import { attributeText, serviceLabel, type Span } from './span';
import type { SpanTree } from './spanTree';

export type GraphNodeType = 'service' | 'database' | 'messaging' | 'external';

export interface GraphNode {
  id: string;
  type: GraphNodeType;
  label: string;
  /** Database or messaging system, e.g. "postgresql", "kafka". */
  system?: string;
  /** Spans of this service (0 for databases, queues and peers). */
  spanCount: number;
  errorCount: number;
}

export interface GraphEdge {
  id: string;
  from: string;
  to: string;
  calls: number;
  errors: number;
}

export interface ServiceGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

function attr(span: Span, key: string): string {
  const v = span.raw.span.attributes?.[key];
  return v === undefined || v === null ? '' : attributeText(v);
}

export function serviceNodeId(service: string): string {
  return `service:${service}`;
}

function databaseOf(span: Span): { id: string; label: string; system: string } | null {
  if (span.kind !== 'Client' && span.kind !== 'Unspecified' && span.kind !== 'Internal') return null;
  const system = attr(span, 'db.system.name') || attr(span, 'db.system');
  if (!system) return null;
  const name = attr(span, 'db.namespace') || attr(span, 'db.name') || system;
  return { id: `database:${system}:${name}`, label: name, system };
}

function destinationOf(span: Span): { id: string; label: string; system: string } | null {
  if (span.kind !== 'Producer' && span.kind !== 'Consumer') return null;
  const system = attr(span, 'messaging.system');
  if (!system) return null;
  const dest = attr(span, 'messaging.destination.name') || attr(span, 'messaging.destination') || system;
  return { id: `messaging:${system}:${dest}`, label: dest, system };
}

function peerOf(span: Span): { id: string; label: string } | null {
  if (span.kind !== 'Client') return null;
  const peer = attr(span, 'peer.service') || attr(span, 'server.address') || attr(span, 'net.peer.name');
  return peer ? { id: `external:${peer}`, label: peer } : null;
}

export function buildServiceGraph(tree: SpanTree): ServiceGraph {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();

  const node = (id: string, type: GraphNodeType, label: string, system?: string): GraphNode => {
    let n = nodes.get(id);
    if (!n) {
      n = { id, type, label, spanCount: 0, errorCount: 0, ...(system ? { system } : {}) };
      nodes.set(id, n);
    }
    return n;
  };
  const call = (from: string, to: string, error: boolean) => {
    const id = `${from}->${to}`;
    let e = edges.get(id);
    if (!e) {
      e = { id, from, to, calls: 0, errors: 0 };
      edges.set(id, e);
    }
    e.calls++;
    if (error) e.errors++;
  };

  for (const n of tree.nodes) {
    const span = n.span;
    const service = serviceLabel(span);
    const sid = serviceNodeId(service);
    const error = span.statusCode === 'Error';
    const sn = node(sid, 'service', service);
    sn.spanCount++;
    if (error) sn.errorCount++;

    const dest = destinationOf(span);
    const parent = n.parent?.span;
    if (parent && serviceLabel(parent) !== service) {
      // A consumer reached through a queue is drawn as queue -> consumer, not as a direct call.
      const viaQueue = dest !== null && span.kind === 'Consumer';
      if (!viaQueue) call(serviceNodeId(serviceLabel(parent)), sid, error);
    }

    const db = databaseOf(span);
    if (db) {
      const dn = node(db.id, 'database', db.label, db.system);
      if (error) dn.errorCount++;
      call(sid, db.id, error);
      continue;
    }
    if (dest) {
      const mn = node(dest.id, 'messaging', dest.label, dest.system);
      if (error) mn.errorCount++;
      if (span.kind === 'Producer') call(sid, dest.id, error);
      else call(dest.id, sid, error);
      continue;
    }
    if (n.children.length === 0) {
      const peer = peerOf(span);
      if (peer && peer.label !== service) {
        const pn = node(peer.id, 'external', peer.label);
        if (error) pn.errorCount++;
        call(sid, peer.id, error);
      }
    }
  }

  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return { nodes: [...nodes.values()].sort(byId), edges: [...edges.values()].sort(byId) };
}
