// The demo page: picks the backend, trains in the page (live loss curve) or loads a checkpoint,
// draws samples at any cardinality and temperature, reconstructs a test digit and colours it
// by the encoder's attention. `window.demo` exposes the same actions to the headless test.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
// registers every gradient of tfjs-core (TOOLCHAIN.md §3)
import '@tensorflow/tfjs-layers';
import { SetVAE } from '@setgen/models';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import type { View } from 'vega';
import { attentionSpec, LiveCurve, reconstructionSpec, samplesSpec, show } from './charts.js';
import { DemoModel, loadDigits, setMnistDigits } from './demo-model.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const SAMPLES = 4;

/** What the page shows, for the headless test (window.demo.state()). */
interface DemoState {
  backend: string;
  step: number;
  training: boolean;
  /** Point count of each drawn sample. */
  sampleCounts: number[];
  stepMs: number | null;
  sampleMs: number | null;
  reconMs: number | null;
  lastLoss: number | null;
}

const state: DemoState = {
  backend: '',
  step: 0,
  training: false,
  sampleCounts: [],
  stepMs: null,
  sampleMs: null,
  reconMs: null,
  lastLoss: null,
};

let demo: DemoModel;
let sampleSeed = 1;
let sampleView: View | undefined;
let reconView: View | undefined;
let attentionView: View | undefined;
const curve = new LiveCurve($('curve'), ['total', 'recon', 'kl']);
/** Serialises model work: training steps, drawing and backend switches never interleave. */
let queue: Promise<unknown> = Promise.resolve();
const exclusive = <T>(f: () => Promise<T>): Promise<T> => {
  const next = queue.then(f, f);
  queue = next.catch(() => undefined);
  return next;
};

function reportError(error: unknown): void {
  console.error(error);
  $('error').textContent = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function showTimings(): void {
  const ms = (v: number | null) => (v === null ? '–' : `${v.toFixed(v < 10 ? 1 : 0)} ms`);
  $('step-time').textContent = `step (batch of 8): ${ms(state.stepMs)}`;
  $('sample-time').textContent = `sampling: ${ms(state.sampleMs)}`;
  $('recon-time').textContent = `reconstruction: ${ms(state.reconMs)}`;
  $('steps').textContent =
    `${state.step} steps${state.lastLoss === null ? '' : `, loss ${state.lastLoss.toFixed(3)}`}`;
}

async function useBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name).catch(() => false);
  if (!ok) throw new Error(`the ${name} backend is not available in this browser`);
  await tf.ready();
  state.backend = tf.getBackend();
  $<HTMLSelectElement>('backend').value = state.backend;
  state.stepMs = state.sampleMs = state.reconMs = null;
  $('status').textContent = `backend ${state.backend}`;
}

function cardinality(): number {
  return Number($<HTMLInputElement>('cardinality').value);
}

function temperature(): number {
  return Number($<HTMLInputElement>('temperature').value);
}

async function drawSamples(): Promise<void> {
  const n = cardinality();
  const t = temperature();
  const { sets, ms } = await demo.sample(SAMPLES, n, t, sampleSeed);
  state.sampleMs = ms;
  state.sampleCounts = sets.map((s) => s.length);
  sampleView = await show($('samples'), samplesSpec(sets, n, t), sampleView);
  showTimings();
}

/** Levels whose attention colouring is switched on (all by default). */
function shownLevels(): Set<number> {
  const boxes = Array.from(document.querySelectorAll<HTMLInputElement>('#levels input'));
  return new Set(boxes.filter((b) => b.checked).map((b) => Number(b.dataset.level)));
}

async function drawDigit(): Promise<void> {
  const input = $<HTMLInputElement>('digit');
  const index = Math.min(Math.max(0, Math.round(Number(input.value) || 0)), demo.digits.test.length - 1);
  input.value = String(index);
  const recon = await demo.reconstruct(index, 3);
  state.reconMs = recon.ms;
  reconView = await show(
    $('reconstruction'),
    reconstructionSpec(recon.input, recon.output, demo.digits.testLabels[index]),
    reconView,
  );
  const levels = await demo.attention(index);
  const box = $('levels');
  if (box.childElementCount !== levels.length) {
    box.replaceChildren(
      'attention levels:',
      ...levels.map((level, l) => {
        const label = document.createElement('label');
        label.innerHTML = `<input type="checkbox" data-level="${l}" checked /> m = ${level.inducingPoints}`;
        label
          .querySelector('input')!
          .addEventListener('change', () => exclusive(drawDigit).catch(reportError));
        return label;
      }),
    );
  }
  const on = shownLevels();
  const shown = levels
    .map((level, l) => ({
      title: `m = ${level.inducingPoints}`,
      owner: [level.owner],
      count: level.inducingPoints,
      l,
    }))
    .filter((level) => on.has(level.l));
  if (shown.length === 0) {
    attentionView?.finalize();
    attentionView = undefined;
    $('attention').textContent = 'no attention level selected';
  } else {
    attentionView = await show($('attention'), attentionSpec(recon.input, shown), attentionView);
  }
  showTimings();
}

/** `steps` training steps (one at a time, yielding to the page), redrawing as it goes. */
async function train(steps: number): Promise<void> {
  for (let i = 0; i < steps && (state.training || steps !== Number.POSITIVE_INFINITY); i++) {
    const { losses, ms } = await exclusive(() => demo.trainStep());
    state.step = demo.step;
    state.stepMs = state.stepMs === null ? ms : 0.8 * state.stepMs + 0.2 * ms;
    state.lastLoss = losses.total;
    curve.push(state.step, losses);
    if (state.step % 5 === 0 || steps < 20) await curve.draw();
    if (state.step % 100 === 0) await exclusive(drawSamples);
    showTimings();
    await tf.nextFrame();
  }
  await curve.draw();
}

function setTraining(on: boolean): void {
  state.training = on;
  $('train').textContent = on ? 'Pause' : 'Train';
  if (on) {
    train(Number.POSITIVE_INFINITY)
      .catch((error) => {
        state.training = false;
        $('train').textContent = 'Train';
        reportError(error);
      })
      .then(() => exclusive(async () => (state.step > 0 ? drawSamples() : undefined)));
  }
}

async function loadCheckpoint(files: FileList): Promise<void> {
  const list = Array.from(files);
  const json = list.find((f) => f.name.endsWith('.json'));
  if (!json) throw new Error('select model.json and weights.bin together');
  const model = await SetVAE.load(tf.io.browserFiles([json, ...list.filter((f) => f !== json)]));
  demo.dispose();
  demo = new DemoModel(demo.digits, model);
  state.step = demo.step;
  curve.clear();
  const slider = $<HTMLInputElement>('cardinality');
  slider.max = String(Math.min(2000, demo.maxOutputs));
  $('status').textContent = `backend ${state.backend}; checkpoint ${json.name} loaded`;
  await drawSamples();
  await drawDigit();
}

function wire(): void {
  const redraw = () => exclusive(drawSamples).catch(reportError);
  for (const id of ['cardinality', 'temperature']) {
    $<HTMLInputElement>(id).addEventListener('input', () => {
      $(`${id}-value`).textContent = $<HTMLInputElement>(id).value;
    });
    $<HTMLInputElement>(id).addEventListener('change', redraw);
  }
  $('resample').addEventListener('click', () => {
    sampleSeed++;
    redraw();
  });
  $('train').addEventListener('click', () => setTraining(!state.training));
  $('digit').addEventListener('change', () => exclusive(drawDigit).catch(reportError));
  $('random-digit').addEventListener('click', () => {
    $<HTMLInputElement>('digit').value = String(Math.floor(Math.random() * demo.digits.test.length));
    exclusive(drawDigit).catch(reportError);
  });
  $('backend').addEventListener('change', () =>
    exclusive(async () => {
      await useBackend($<HTMLSelectElement>('backend').value);
      await drawSamples();
      await drawDigit();
    }).catch(reportError),
  );
  $<HTMLInputElement>('checkpoint').addEventListener('change', (event) => {
    const files = (event.target as HTMLInputElement).files;
    if (files?.length) exclusive(() => loadCheckpoint(files)).catch(reportError);
  });
  $('save').addEventListener('click', () =>
    exclusive(() => demo.model.save(tf.io.getSaveHandlers('downloads://setvae-demo')[0])).catch(reportError),
  );
}

async function start(): Promise<void> {
  setWasmPaths(new URL('wasm/', document.baseURI).href);
  await useBackend(params.get('backend') ?? 'wasm');
  const images = await loadDigits(document.baseURI);
  demo = new DemoModel(setMnistDigits(images));
  $<HTMLInputElement>('digit').max = String(demo.digits.test.length - 1);
  wire();
  await exclusive(drawSamples);
  await exclusive(drawDigit);
  $('status').textContent = `backend ${state.backend}; ${demo.digits.train.length} training digits`;
  if (params.get('autotrain') !== '0') setTraining(true);
}

declare global {
  interface Window {
    demo: {
      ready: Promise<void>;
      state: () => DemoState;
      train: (steps: number) => Promise<void>;
      setBackend: (name: string) => Promise<void>;
      redraw: () => Promise<void>;
    };
  }
}

window.demo = {
  ready: start().catch((error) => {
    reportError(error);
    throw error;
  }),
  state: () => ({ ...state }),
  train: (steps) => train(steps),
  setBackend: (name) => exclusive(() => useBackend(name)),
  redraw: () => exclusive(drawSamples),
};
