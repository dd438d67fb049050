/**
 * The jobs of a distributed queue as Redis keeps them, next to BullMQ's own keys. BullMQ carries the
 * work to a worker and back (at least once); these records carry what clients see: each job's
 * status, as one hash per job, and three sorted sets that make admission and expiry atomic across
 * every node: jobs waiting for a worker, jobs running, and finished jobs by expiry time.
 *
 * Every change of state is a Lua script, so that two nodes never both act on one job: a job cancelled
 * by one API node while a worker completes it ends as exactly one of the two, and the queue-length
 * limit holds for all API nodes together, with no check-then-add race.
 */
import type { Redis } from 'ioredis';
import { isFinished, JOB_STATES, type JobState, type JobStatus } from '../../core/job.js';
import { RECORD_GRACE_MS, type QueueNamespace } from './job-data.js';

/** The stored result of a completed job: a key in the blob store. */
export interface StoredResult {
  key: string;
  mediaType: string;
  size: number;
}

export interface JobRecord {
  state: JobState;
  status: JobStatus;
  result: StoredResult | undefined;
}

/** A worker's entry in the registry: what it offers, until when it counts as alive. */
export interface WorkerEntry {
  id: string;
  host: string;
  pid: number;
  /** Jobs it runs at the same time. */
  slots: number;
  /** Models it has installed (so API nodes know which styles the cluster can run). */
  models: string[];
  /** Ms since the epoch; past it the worker is gone (it renews the entry well before). */
  expiresAt: number;
}

export interface Admission {
  accepted: boolean;
  /** Jobs queued and running across the cluster, before this one. */
  inFlight: number;
  /** Job slots of the live workers. */
  slots: number;
}

const FINAL = `state == 'completed' or state == 'failed' or state == 'cancelled'`;

/** Sums the slots of live workers (KEYS[3] = registry, ARGV[2] = now), then admits if there is room. */
const ADMIT = `
local slots = 0
local workers = redis.call('HGETALL', KEYS[3])
for i = 2, #workers, 2 do
  local ok, w = pcall(cjson.decode, workers[i])
  if ok and tonumber(w.expiresAt) > tonumber(ARGV[2]) then slots = slots + tonumber(w.slots) end
end
local inflight = redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2])
if inflight >= slots + tonumber(ARGV[1]) then return {0, inflight, slots} end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[4], 'state', 'queued', 'status', ARGV[4])
return {1, inflight, slots}`;

/** queued|running → running, when the state is still the one the worker read. */
const START = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 'gone'
end
if state ~= ARGV[2] then return state end
redis.call('HSET', KEYS[1], 'state', 'running', 'status', ARGV[3], 'owner', ARGV[5])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return 'ok'`;

/** Progress of a running job, from the worker that runs it now. */
const PROGRESS = `
if redis.call('HGET', KEYS[1], 'state') ~= 'running' or redis.call('HGET', KEYS[1], 'owner') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
return 1`;

/** Any unfinished state → final, once: kept until its expiry, announced to waiters and workers. */
const FINISH = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state or ${FINAL} then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'status', ARGV[3])
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'result', ARGV[7]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
redis.call('PUBLISH', ARGV[6], ARGV[1])
return 1`;

/** running → queued: a worker hands a job back (shutting down); another worker will run it. */
const REQUEUE = `
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'queued', 'status', ARGV[2])
redis.call('HDEL', KEYS[1], 'owner')
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1`;

const REMOVE = `
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1`;

type Script = (...args: Array<string | number>) => Promise<unknown>;

export class JobRecords {
  readonly #redis: Redis;
  readonly #base: string;
  /** Channel on which every finished job's id is published. */
  readonly channel: string;
  readonly #queued: string;
  readonly #running: string;
  readonly #finished: string;
  readonly workersKey: string;
  readonly #statsKey: string;
  readonly #scripts: Record<'admit' | 'start' | 'progress' | 'finish' | 'requeue' | 'remove', Script>;

  constructor(redis: Redis, namespace: QueueNamespace) {
    this.#redis = redis;
    this.#base = `${namespace.prefix}:${namespace.name}:portoon`;
    this.channel = `${this.#base}:finished`;
    this.#queued = `${this.#base}:queued`;
    this.#running = `${this.#base}:running`;
    this.#finished = `${this.#base}:expiry`;
    this.workersKey = `${this.#base}:workers`;
    this.#statsKey = `${this.#base}:stats`;
    // defineCommand runs a script by its hash (EVALSHA), sending the body only when Redis lacks it.
    const define = (name: string, lua: string, numberOfKeys: number): Script => {
      const command = `portoon_${name}`;
      if (!(command in redis)) redis.defineCommand(command, { lua, numberOfKeys });
      const run = (redis as unknown as Record<string, Script>)[command]!;
      return (...args) => run.call(redis, ...args);
    };
    this.#scripts = {
      admit: define('admit', ADMIT, 4),
      start: define('start', START, 3),
      progress: define('progress', PROGRESS, 1),
      finish: define('finish', FINISH, 4),
      requeue: define('requeue', REQUEUE, 3),
      remove: define('remove', REMOVE, 4),
    };
  }

  #job(id: string): string {
    return `${this.#base}:job:${id}`;
  }

  /** Admits a new job when the cluster has room: live worker slots plus `maxQueued` waiting. */
  async admit(status: JobStatus, maxQueued: number, now = Date.now()): Promise<Admission> {
    const [accepted, inFlight, slots] = (await this.#scripts.admit(
      this.#queued,
      this.#running,
      this.workersKey,
      this.#job(status.id),
      maxQueued,
      now,
      status.id,
      JSON.stringify(status),
    )) as [number, number, number];
    return { accepted: accepted === 1, inFlight, slots };
  }

  /** The job's record; undefined when there is none, or none that can be read (the sweeper removes those). */
  async get(id: string): Promise<JobRecord | undefined> {
    const fields = await this.#redis.hgetall(this.#job(id));
    if (!fields.status || !fields.state || !JOB_STATES.includes(fields.state as JobState)) return undefined;
    try {
      return {
        state: fields.state as JobState,
        status: JSON.parse(fields.status) as JobStatus,
        result: fields.result ? (JSON.parse(fields.result) as StoredResult) : undefined,
      };
    } catch {
      // Written by something else than these scripts: no node can act on it.
      return undefined;
    }
  }

  /**
   * Marks the job running on a worker (`owner`, a token of this run), if its state is still `expected`.
   * @returns 'ok', the state it is in instead (e.g. 'cancelled'), or 'gone' when it no longer exists.
   */
  async start(status: JobStatus, expected: JobState, owner: string, now = Date.now()): Promise<'ok' | 'gone' | JobState> {
    return (await this.#scripts.start(
      this.#job(status.id),
      this.#queued,
      this.#running,
      status.id,
      expected,
      JSON.stringify(status),
      now,
      owner,
    )) as 'ok' | 'gone' | JobState;
  }

  /** Writes the progress of a running job; false when it is no longer this run's (finished, or taken over). */
  async progress(status: JobStatus, owner: string): Promise<boolean> {
    return (await this.#scripts.progress(this.#job(status.id), JSON.stringify(status), owner)) === 1;
  }

  /**
   * Makes the job final (the status's state), unless it is final already; keeps it for `ttlMs`.
   * @returns true when this call finished it, false when it had finished (or gone) before.
   */
  async finish(status: JobStatus, ttlMs: number, result?: StoredResult): Promise<boolean> {
    if (!isFinished(status.state)) throw new Error(`finish() needs a final state, not ${status.state}`);
    const expiresAt = status.expiresAt ? Date.parse(status.expiresAt) : Date.now() + ttlMs;
    return (
      (await this.#scripts.finish(
        this.#job(status.id),
        this.#queued,
        this.#running,
        this.#finished,
        status.id,
        status.state,
        JSON.stringify(status),
        // Readers treat the job as gone at its expiry; the record itself lingers a while longer, so the
        // sweeper can still find its files, and Redis forgets it even when no sweeper runs.
        Math.max(1, Math.round(ttlMs)) + RECORD_GRACE_MS,
        expiresAt,
        this.channel,
        result ? JSON.stringify(result) : '',
      )) === 1
    );
  }

  /** Puts a running job back in line (its worker is stopping); false when it is not running. */
  async requeue(status: JobStatus, now = Date.now()): Promise<boolean> {
    return (await this.#scripts.requeue(this.#job(status.id), this.#queued, this.#running, status.id, JSON.stringify(status), now)) === 1;
  }

  async remove(id: string): Promise<void> {
    await this.#scripts.remove(this.#job(id), this.#queued, this.#running, this.#finished, id);
  }

  async counts(now = Date.now()): Promise<{ queued: number; running: number; finished: number }> {
    const [queued, running, finished] = (await this.#redis
      .multi()
      .zcard(this.#queued)
      .zcard(this.#running)
      // Exclusive: a job whose expiry is now is gone to readers (status, expired()), so not counted either.
      .zcount(this.#finished, `(${now}`, '+inf')
      .exec())!.map(([error, value]) => {
      if (error) throw error;
      return Number(value);
    }) as [number, number, number];
    return { queued, running, finished };
  }

  /** Finished jobs whose expiry has passed (their status is gone; their files may not be). */
  async expired(now = Date.now(), limit = 500): Promise<string[]> {
    return this.#redis.zrangebyscore(this.#finished, '-inf', now, 'LIMIT', 0, limit);
  }

  async forgetExpired(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.#redis.zrem(this.#finished, ...ids);
  }

  /** Jobs marked queued since before `before`, and running since before `before` (for the reconciler). */
  async stale(before: number, limit = 500): Promise<{ queued: string[]; running: string[] }> {
    const [queued, running] = await Promise.all([
      this.#redis.zrangebyscore(this.#queued, '-inf', before, 'LIMIT', 0, limit),
      this.#redis.zrangebyscore(this.#running, '-inf', before, 'LIMIT', 0, limit),
    ]);
    return { queued, running };
  }

  async exists(id: string): Promise<boolean> {
    return (await this.#redis.exists(this.#job(id))) === 1;
  }

  /** Registers or renews a worker. */
  async registerWorker(entry: WorkerEntry): Promise<void> {
    await this.#redis.hset(this.workersKey, entry.id, JSON.stringify(entry));
  }

  async unregisterWorker(id: string): Promise<void> {
    await this.#redis.hdel(this.workersKey, id);
  }

  /** Live workers; entries of workers gone for a while are removed. */
  async workers(now = Date.now()): Promise<WorkerEntry[]> {
    const all = await this.#redis.hgetall(this.workersKey);
    const live: WorkerEntry[] = [];
    const dead: string[] = [];
    for (const [id, raw] of Object.entries(all)) {
      const entry = JSON.parse(raw) as WorkerEntry;
      if (entry.expiresAt > now) live.push(entry);
      else if (entry.expiresAt < now - 60_000) dead.push(id);
    }
    if (dead.length > 0) await this.#redis.hdel(this.workersKey, ...dead);
    return live;
  }

  /** The cluster's mean run time of a job, for Retry-After (each worker writes its own estimate). */
  async runEstimateMs(): Promise<number | undefined> {
    const value = await this.#redis.hget(this.#statsKey, 'runMs');
    return value === null ? undefined : Number(value);
  }

  async setRunEstimateMs(ms: number): Promise<void> {
    await this.#redis.hset(this.#statsKey, 'runMs', String(Math.round(ms)));
  }
}
