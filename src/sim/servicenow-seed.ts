import type { SimEstate } from './hosts.js'
import { simSysId } from './hosts.js'
import { TableStore, type TableDef } from './servicenow-store.js'

/**
 * The simulated instance's schema and its first rows: the CMDB from the shared estate
 * (so CI matching meets the same hosts the Qualys simulator reports), the POA&M targets,
 * CI tags, and `sys_dictionary` / `sys_db_object` rows describing them so schema
 * validation reads real metadata.
 */

/** The custom POA&M table's columns, exactly as the `custom` profile writes them. */
export const POAM_TABLE_COLUMNS = [
  'short_description', 'description', 'cmdb_ci', 'risk_rating', 'status', 'u_correlation_id',
  'u_weakness_name', 'u_weakness_description', 'u_weakness_detector_source',
  'u_weakness_source_identifier', 'u_asset_identifier', 'u_policy', 'u_controls',
  'u_original_detection_date', 'u_scheduled_completion_date', 'u_status_date', 'u_remediation_plan'
]

/** `sn_grc_issue` columns the simulator's dictionary lists on the table itself. */
export const GRC_ISSUE_COLUMNS = [
  'short_description', 'description', 'state', 'priority', 'issue_rating', 'planned_end_date',
  'assigned_to', 'response', 'weakness_description', 'cmdb_ci', 'correlation_id', 'opened_at',
  'close_notes', 'sys_id'
]

const CI_COLUMNS = [
  'name', 'sys_class_name', 'fqdn', 'host_name', 'ip_address', 'mac_address', 'serial_number',
  'correlation_id', 'discovery_source', 'install_status', 'operational_status', 'os'
]

export const TABLE_DEFS: TableDef[] = [
  { name: 'cmdb_ci', label: 'Configuration Item', columns: CI_COLUMNS },
  { name: 'cmdb_ci_hardware', label: 'Hardware', parent: 'cmdb_ci', columns: [] },
  { name: 'cmdb_ci_computer', label: 'Computer', parent: 'cmdb_ci_hardware', columns: [] },
  { name: 'cmdb_ci_server', label: 'Server', parent: 'cmdb_ci_computer', columns: [] },
  { name: 'cmdb_ci_linux_server', label: 'Linux Server', parent: 'cmdb_ci_server', columns: [] },
  { name: 'cmdb_ci_win_server', label: 'Windows Server', parent: 'cmdb_ci_server', columns: [] },
  {
    name: 'cmdb_ci_network_adapter',
    label: 'Network Adapter',
    parent: 'cmdb_ci',
    columns: ['cmdb_ci', 'netmask'],
    references: { cmdb_ci: 'cmdb_ci' }
  },
  {
    name: 'cmdb_key_value',
    label: 'Key Value',
    columns: ['key', 'value', 'configuration_item'],
    references: { configuration_item: 'cmdb_ci' }
  },
  { name: 'u_poam_table', label: 'POA&M', columns: POAM_TABLE_COLUMNS, references: { cmdb_ci: 'cmdb_ci' } },
  {
    name: 'task',
    label: 'Task',
    columns: ['number', 'state', 'priority', 'short_description', 'description', 'assigned_to', 'opened_at', 'close_notes', 'active', 'sys_class_name'],
    references: { assigned_to: 'sys_user' }
  },
  { name: 'sn_grc_issue', label: 'Issue', parent: 'task', columns: GRC_ISSUE_COLUMNS, references: { cmdb_ci: 'cmdb_ci' } },
  { name: 'sys_user', label: 'User', columns: ['user_name', 'name', 'email'] },
  {
    name: 'sys_dictionary',
    label: 'Dictionary Entry',
    columns: ['name', 'element', 'column_label', 'internal_type', 'mandatory', 'max_length', 'reference']
  },
  { name: 'sys_db_object', label: 'Table', columns: ['name', 'label', 'super_class'], references: { super_class: 'sys_db_object' } }
]

/** Tables whose columns the dictionary describes (the metadata tables are left out). */
const DESCRIBED = new Set(['cmdb_ci', 'cmdb_ci_network_adapter', 'cmdb_key_value', 'u_poam_table', 'task', 'sn_grc_issue', 'sys_user'])

function internalType (column: string, def: TableDef): string {
  if (def.references?.[column] !== undefined) return 'reference'
  if (column === 'sys_id') return 'GUID'
  if (column.endsWith('_on') || column === 'opened_at') return 'glide_date_time'
  if (column.endsWith('_date')) return 'glide_date'
  return 'string'
}

function seedMetadata (store: TableStore): void {
  const tableIds = new Map(TABLE_DEFS.map((d) => [d.name, simSysId('table', d.name)]))
  for (const def of TABLE_DEFS) {
    store.insert('sys_db_object', {
      sys_id: tableIds.get(def.name),
      name: def.name,
      label: def.label ?? def.name,
      super_class: def.parent === undefined ? '' : tableIds.get(def.parent)
    })
    if (!DESCRIBED.has(def.name)) continue
    // A base table carries the system columns; extended tables inherit them.
    const columns = def.parent === undefined ? [...new Set(['sys_id', 'sys_created_on', 'sys_updated_on', ...def.columns])] : def.columns
    for (const column of columns) {
      store.insert('sys_dictionary', {
        name: def.name,
        element: column,
        column_label: column.replace(/^u_/, '').replace(/_/g, ' '),
        internal_type: internalType(column, def),
        mandatory: 'false',
        max_length: column.endsWith('description') || column === 'u_remediation_plan' ? '4000' : '255',
        reference: def.references?.[column] ?? ''
      })
    }
  }
}

function seedCmdb (store: TableStore, estate: SimEstate): void {
  for (const ci of estate.cis) {
    store.insert(ci.sys_class_name, { ...ci, discovery_source: 'ServiceNow', serial_number: `SN-${ci.sys_id.slice(0, 8)}` })
  }
  for (const nic of estate.adapters) store.insert('cmdb_ci_network_adapter', { ...nic })
}

export function seedInstance (estate: SimEstate, now?: () => number): TableStore {
  const store = new TableStore(TABLE_DEFS, now)
  seedMetadata(store)
  seedCmdb(store, estate)
  store.insert('sys_user', { sys_id: simSysId('user', 'admin'), user_name: 'admin', name: 'System Administrator', email: 'admin@example.com' })
  return store
}
