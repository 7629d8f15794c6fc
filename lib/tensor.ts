/**
 * Tensor: the JS handle of an engine tensor. Data crosses by one copy each way
 * (`Tensor.from`, `toArray`), so a Tensor is immutable from JS. `dispose()` frees the
 * native bytes now; otherwise the garbage collector does (the bytes are reported to V8).
 */
import { native, type NativeDType, type NativeTensor } from './native.js';
import { VlvError, wrapSync } from './errors.js';

export type DType = NativeDType;

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array;

/** The TypedArray that holds each dtype's raw elements (bf16/f16: their 16-bit patterns). */
export type ArrayFor<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'f64'
    ? Float64Array
    : D extends 'i32'
      ? Int32Array
      : D extends 'i64'
        ? BigInt64Array
        : D extends 'bf16' | 'f16'
          ? Uint16Array
          : Uint8Array;

function defaultDType(data: TensorData): DType {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Float64Array) return 'f64';
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof BigInt64Array) return 'i64';
  if (data instanceof Uint16Array) return 'bf16';
  return 'u8';
}

function numbersTo(dtype: DType, values: ArrayLike<number>): TensorData {
  switch (dtype) {
    case 'f32':
    case 'bf16':
    case 'f16':
      return Float32Array.from(values);
    case 'f64':
      return Float64Array.from(values);
    case 'i32':
      return Int32Array.from(values);
    case 'i64':
      return BigInt64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v))));
    case 'u8':
      return Uint8Array.from(values);
    case 'bool':
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
  }
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class Tensor {
  /** @internal */
  readonly native: NativeTensor;

  /** @internal wraps an addon tensor; use Tensor.from / Tensor.zeros to make one. */
  constructor(handle: NativeTensor) {
    this.native = handle;
  }

  /**
   * A tensor from numbers or a TypedArray (copied). Numbers become `dtype` (default f32);
   * bf16/f16 from numbers are rounded to nearest even.
   */
  static from(data: TensorData | ArrayLike<number>, shape?: readonly number[], dtype?: DType): Tensor {
    return wrapSync(() => {
      const typed = ArrayBuffer.isView(data);
      const target: DType = dtype ?? (typed ? defaultDType(data) : 'f32');
      const dims = shape ? [...shape] : [(data as ArrayLike<number>).length];
      if (!dims.every((d) => Number.isInteger(d) && d >= 0))
        throw new VlvError('E_ARG', `Tensor.from: shape [${dims.join(',')}] must hold non-negative integers`);
      const n = product(dims);
      if ((data as ArrayLike<number>).length !== n)
        throw new VlvError(
          'E_SHAPE',
          `Tensor.from: ${(data as ArrayLike<number>).length} values for shape [${dims.join(',')}]`,
        );
      if (!typed || ((target === 'bf16' || target === 'f16') && !(data instanceof Uint16Array))) {
        const values = numbersTo(target, data as ArrayLike<number>);
        const stored: DType = target === 'bf16' || target === 'f16' ? 'f32' : target;
        const t = new Tensor(native.tensorFromBuffer(stored, dims, values));
        if (stored === target) return t;
        const cast = native.runOpSync('cast', [t.native], { dtype: target }, false)[0]!;
        t.dispose();
        return new Tensor(cast);
      }
      return new Tensor(native.tensorFromBuffer(target, dims, data));
    });
  }

  static zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const bytes = { f32: 4, f64: 8, bf16: 2, f16: 2, i32: 4, i64: 8, u8: 1, bool: 1 }[dtype];
    return wrapSync(
      () => new Tensor(native.tensorFromBuffer(dtype, [...shape], new Uint8Array(product(shape) * bytes))),
    );
  }

  /** A scalar-shaped ([]) f32 tensor. */
  static scalar(value: number): Tensor {
    return Tensor.from([value], []);
  }

  get shape(): number[] {
    return wrapSync(() => this.native.shape);
  }
  get dtype(): DType {
    return wrapSync(() => this.native.dtype);
  }
  get device(): 'cpu' | 'cuda' {
    return wrapSync(() => this.native.device);
  }
  get numel(): number {
    return product(this.shape);
  }
  get nbytes(): number {
    return wrapSync(() => this.native.nbytes);
  }
  get disposed(): boolean {
    return this.native.disposed;
  }

  /** Leaves only: whether backward() accumulates a gradient into `.grad`. */
  get requiresGrad(): boolean {
    return wrapSync(() => this.native.requiresGrad);
  }
  set requiresGrad(value: boolean) {
    wrapSync(() => {
      this.native.requiresGrad = value;
    });
  }
  /** The accumulated gradient (null until a backward reaches this leaf). */
  get grad(): Tensor | null {
    const g = wrapSync(() => this.native.grad);
    return g ? new Tensor(g) : null;
  }
  zeroGrad(): void {
    wrapSync(() => this.native.zeroGrad());
  }
  /** The same data with no autograd history. */
  detach(): Tensor {
    return new Tensor(wrapSync(() => this.native.detach()));
  }

  /**
   * A copy on `device` ('cpu' or 'cuda'), or this tensor when it is already there: `await
   * t.to('cuda')`. The copy is not recorded for autograd: move inputs and parameters before
   * building a graph. E_DEVICE (a rejection) without a usable GPU.
   */
  to(device: 'cpu' | 'cuda'): Promise<Tensor> {
    // The addon copies on the calling thread today; the Promise lets a later engine copy
    // asynchronously without changing any caller. A throw becomes the rejection.
    return new Promise((resolve) => resolve(this.copyTo(device)));
  }

  private copyTo(device: 'cpu' | 'cuda'): Tensor {
    if (this.device === device) return this;
    return new Tensor(wrapSync(() => native.tensorTo(this.native, device)));
  }

  /** A copy of the raw elements in their own TypedArray (bf16/f16: 16-bit patterns). */
  toArray(): TensorData {
    if (this.device !== 'cpu') {
      const host = this.copyTo('cpu');
      try {
        return host.toArray();
      } finally {
        host.dispose();
      }
    }
    return wrapSync(() => {
      const buf = this.native.toBuffer();
      switch (this.native.dtype) {
        case 'f32':
          return new Float32Array(buf);
        case 'f64':
          return new Float64Array(buf);
        case 'i32':
          return new Int32Array(buf);
        case 'i64':
          return new BigInt64Array(buf);
        case 'bf16':
        case 'f16':
          return new Uint16Array(buf);
        default:
          return new Uint8Array(buf);
      }
    });
  }

  /** The values as f32, whatever the dtype (a conversion on the engine side if needed). */
  toFloat32(): Float32Array {
    if (this.dtype === 'f32') return this.toArray() as Float32Array;
    const f = wrapSync(() => native.runOpSync('cast', [this.native], { dtype: 'f32' }, false)[0]!);
    try {
      if (f.device !== 'cpu') return new Tensor(f).toArray() as Float32Array;
      return new Float32Array(f.toBuffer());
    } finally {
      f.dispose();
    }
  }

  /** Frees the native bytes now. Any later use throws E_DISPOSED. */
  dispose(): void {
    this.native.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return this.disposed ? 'Tensor(disposed)' : `Tensor(${this.dtype}[${this.shape.join(',')}])`;
  }
}
