// clusterd/client: a client of the agent's two-way WebSocket API (/v2/ws)
export { AgentClient, AgentApiError, AGENT_CLIENT_DEFAULTS } from './agent-client.js';
export type { AgentClientOptions, ClientItem, ClientSubscription } from './agent-client.js';
export type { HistoryView, MessageView, PublishReceipt } from '../replication/channels.js';
export type { HistoryGap } from '../replica/history.js';
