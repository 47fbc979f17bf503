import CKernels

/// The activation buffers of forward passes, allocated once and reused across batches.
///
/// Sized by the largest batch seen so far (tokens) and the widest layer, so a sweep over a
/// dev set allocates during its first batch and never again. Not `Sendable`: one workspace
/// serves one forward pass at a time, and the compiler keeps it on the task that made it;
/// concurrent callers each own one. A backward pass will add per-layer saved activations here
/// rather than changing the layers.
public final class Workspace {
    /// Threads for the engine's kernels (GEMM, attention, element-wise); OpenBLAS threads, for
    /// the OpenBLAS GEMM path, are set separately with `Blas.setThreads`.
    public let threads: Int
    /// The worker threads; they spin briefly between kernels and sleep when idle.
    let pool: OpaquePointer?

    private(set) var tokenCapacity = 0
    private(set) var lengthCapacity = 0
    private(set) var sequenceCapacity = 0

    var hidden = FloatBuffer(count: 0)        // (tokens, hidden)
    var scratch = FloatBuffer(count: 0)       // (tokens, hidden)
    var queryKeyValue = FloatBuffer(count: 0) // (tokens, 3·attentionWidth)
    var context = FloatBuffer(count: 0)       // (tokens, attentionWidth)
    var intermediate = FloatBuffer(count: 0)  // (tokens, intermediate)
    var pooled = FloatBuffer(count: 0)        // (sequences, hidden)
    var pooledScratch = FloatBuffer(count: 0) // (sequences, hidden)
    var headOutput = FloatBuffer(count: 0)    // (max(tokens·2, sequences·labels))
    var attentionScratch = FloatBuffer(count: 0) // (threads, maxLength)
    var positions: [Int32] = []
    var offsets: [Int32] = []
    // The [CLS]-rows-only last layer: (sequences, width) each.
    var clsHidden = FloatBuffer(count: 0)
    var clsQuery = FloatBuffer(count: 0)
    var clsContext = FloatBuffer(count: 0)
    var clsScratch = FloatBuffer(count: 0)
    var clsIntermediate = FloatBuffer(count: 0)

    private var widths = (hidden: 0, attention: 0, intermediate: 0, labels: 0)

    public init(threads: Int = 1) {
        self.threads = max(1, threads)
        pool = self.threads > 1 ? fk_pool_create(Int32(self.threads)) : nil
    }

    deinit {
        if let pool { fk_pool_destroy(pool) }
    }

    /// Total bytes held, for memory reports.
    public var byteCount: Int {
        [hidden, scratch, queryKeyValue, context, intermediate, pooled, pooledScratch, headOutput, attentionScratch,
         clsHidden, clsQuery, clsContext, clsScratch, clsIntermediate]
            .reduce(0) { $0 + $1.count * MemoryLayout<Float>.stride }
    }

    func reserve(tokens: Int, sequences: Int, maxLength: Int, hidden h: Int, attentionWidth a: Int,
                 intermediate i: Int, labels: Int) {
        let grownWidths = h > widths.hidden || a > widths.attention || i > widths.intermediate || labels > widths.labels
        if grownWidths {
            widths = (max(h, widths.hidden), max(a, widths.attention), max(i, widths.intermediate), max(labels, widths.labels))
        }
        if tokens > tokenCapacity || grownWidths {
            tokenCapacity = max(tokens, tokenCapacity)
            let t = tokenCapacity
            hidden = FloatBuffer(count: t * widths.hidden)
            scratch = FloatBuffer(count: t * widths.hidden)
            queryKeyValue = FloatBuffer(count: t * 3 * widths.attention)
            context = FloatBuffer(count: t * widths.attention)
            intermediate = FloatBuffer(count: t * widths.intermediate)
        }
        if sequences > sequenceCapacity || tokens * 2 > headOutput.count || grownWidths {
            sequenceCapacity = max(sequences, sequenceCapacity)
            pooled = FloatBuffer(count: sequenceCapacity * widths.hidden)
            pooledScratch = FloatBuffer(count: sequenceCapacity * widths.hidden)
            headOutput = FloatBuffer(count: max(tokenCapacity * 2, sequenceCapacity * max(1, widths.labels)))
            let b = sequenceCapacity
            clsHidden = FloatBuffer(count: b * widths.hidden)
            clsQuery = FloatBuffer(count: b * widths.attention)
            clsContext = FloatBuffer(count: b * widths.attention)
            clsScratch = FloatBuffer(count: b * widths.hidden)
            clsIntermediate = FloatBuffer(count: b * widths.intermediate)
        }
        if maxLength > lengthCapacity {
            lengthCapacity = maxLength
            attentionScratch = FloatBuffer(count: threads * lengthCapacity)
        }
        if positions.count < tokens { positions = [Int32](repeating: 0, count: tokenCapacity) }
    }
}
