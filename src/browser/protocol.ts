/**
 * Messages between `PortoonWeb` (the page) and its engine worker. Pixels travel as transferred
 * ArrayBuffers or ImageBitmaps, never copied; errors travel as SerializedError and are revived as
 * PortoonError on the page.
 */
import type { SerializedError } from '../core/errors.js';
import type { Affine, Point } from '../core/face/align.js';
import type { ManifestFile } from '../core/models/manifest.js';
import type { CartoonizeReport, StageProgress } from '../core/report.js';
import type { CartoonizeParams } from '../core/request.js';

/** What `GET /api/v1/catalogue` returns: the manifests and where each installed model file is served. */
export interface CatalogueDocument {
  manifests: ManifestFile[];
  /** Model id → URL of its file (relative to the server), for the models the server has installed. */
  modelUrls: Record<string, string>;
  /** The styles the server offers (the catalogue may hold more). */
  styles: string[];
  /** The server's Portoon version, written into the provenance of what the browser makes. */
  version: string;
}

export interface EngineSettings {
  catalogue: CatalogueDocument;
  /** Absolute base URL the model URLs are relative to. */
  baseUrl: string;
  /** Sent with model downloads when the server needs a key. */
  apiKey?: string | undefined;
  /** WebAssembly threads for one inference (onnxruntime-web numThreads). */
  threads: number;
  /** Folder (absolute URL) holding onnxruntime-web's .wasm files; undefined: next to its module (bundlers copy them there). */
  wasmPaths: string | undefined;
  /** 'auto': WebGPU when the browser offers a real (not software) GPU adapter, else WebAssembly. */
  device: 'auto' | 'wasm';
  /** Refuse inputs with more pixels than this. */
  maxInputPixels: number;
  /** Cache Storage bucket for model files; undefined: no caching. */
  cacheName: string | undefined;
}

export interface DetectedFace {
  box: [number, number, number, number];
  score: number;
  landmarks: Point[];
}

export type EngineRequest =
  | { id: number; kind: 'init'; settings: EngineSettings }
  | { id: number; kind: 'cartoonize'; bytes: ArrayBuffer; params: CartoonizeParams }
  | { id: number; kind: 'preload'; models: string[] }
  | { id: number; kind: 'detect'; frame: ImageBitmap; maxSide: number }
  | { id: number; kind: 'live-face'; frame: ImageBitmap; landmarks: Point[]; style: string; size: number }
  | { id: number; kind: 'cancel'; target: number };

export type EngineResult =
  | { kind: 'init'; backend: BackendInfo }
  | { kind: 'cartoonize'; bytes: ArrayBuffer; report: CartoonizeReport }
  | { kind: 'preload'; models: string[] }
  | { kind: 'detect'; faces: DetectedFace[]; ms: number }
  | { kind: 'live-face'; rgba: ArrayBuffer; size: number; frameToCrop: Affine; model: string; ms: number };

/** Which runtime the worker ended up with. */
export interface BackendInfo {
  device: 'wasm' | 'webgpu';
  threads: number;
  /** Whether the page is cross-origin isolated (WebAssembly threads need it). */
  isolated: boolean;
}

export interface ModelDownload {
  model: string;
  loaded: number;
  total: number;
  /** True when the bytes came from Cache Storage (no network). */
  cached: boolean;
}

export type EngineMessage =
  | { id: number; ok: true; result: EngineResult }
  | { id: number; ok: false; error: SerializedError }
  | { id: number; progress: StageProgress }
  | { download: ModelDownload };
