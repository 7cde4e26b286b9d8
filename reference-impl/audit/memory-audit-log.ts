/** An AuditLog in process memory: "durable" for the life of the process. */
import type { AuditRecord } from '../../model/profile/messages.ts';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import type { AuditEntry, AuditLog } from './audit-log.ts';
import { AuditChainWriter, AuditLogError } from './audit-log.ts';

export class MemoryAuditLog implements AuditLog {
  private readonly stored: AuditRecord[] = [];
  private readonly writer: AuditChainWriter;
  private closed = false;

  constructor(clock: Clock = systemClock) {
    this.writer = new AuditChainWriter(clock);
  }

  append(entry: AuditEntry): Promise<AuditRecord> {
    return this.writer.append(entry, async (record) => {
      if (this.closed) throw new AuditLogError('unavailable', 'audit log is closed');
      this.stored.push(record);
    });
  }

  async records(): Promise<AuditRecord[]> {
    return [...this.stored];
  }

  close(): Promise<void> {
    return this.writer.exclusive(async () => {
      this.closed = true;
    });
  }
}
