// The few shapes of the JS boundary that are not engine serde structs (those are generated into
// types.gen.d.ts from the Rust structs): what `scoreBatch` reads field by field, and the error.

/** One image of `scoreBatch`: encoded bytes, a DICOM frame decoded by the host, or RGBA pixels. */
export type BatchItem =
  | { id: string; bytes: Uint8Array | ArrayBuffer }
  | { id: string; dicomFrame: { samples: Uint8Array; attributes: DicomAttributes } }
  | { id: string; rgba: Uint8Array | Uint8ClampedArray; width: number; height: number };

/** Errors thrown by medtriage carry a stable `code`. */
export interface MedtriageError extends Error {
  code: string;
}

/** `outlierScores` reads `predProbs` (entropy-based) when the request has it, else `embeddings` (kNN). */
export type OutlierScoresRequest = OodProbsRequest | KnnOutlierRequest;
