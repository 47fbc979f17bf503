/// A fine-tune as it stood after some updates: enough to continue it exactly where it was.
///
/// Parameters and both AdamW moments (the step is the manifest's), the position in the data
/// (the number of updates: epoch order is a function of the seed and the epoch, dropout masks
/// of the seed and the step, so no generator state is needed), what was done so far, and the
/// settings and inputs it was made with, against which a resuming command is checked.
public struct TrainingState: Sendable {
    public struct Manifest: Codable, Sendable, Equatable {
        public static let currentFormat = 1
        public var format: Int
        public var settings: FineTuneSettings
        public var inputs: [InputFingerprint]
        /// Updates taken.
        public var step: Int
        /// Where the next update reads (0-based epoch, update within it): `step` in the plan,
        /// written out for whoever reads the file.
        public var epoch: Int
        public var update: Int
        public var totalSteps: Int
        /// The layout's tensor names and the flat length, to refuse vectors of another model.
        public var parameterNames: [String]
        public var parameterCount: Int
        public var progress: TrainingProgress
        /// The frontier version that wrote it.
        public var frontierVersion: String

        public init(settings: FineTuneSettings, inputs: [InputFingerprint], step: Int, epoch: Int, update: Int, totalSteps: Int,
                    parameterNames: [String], parameterCount: Int, progress: TrainingProgress, frontierVersion: String) {
            format = Self.currentFormat
            self.settings = settings
            self.inputs = inputs
            self.step = step
            self.epoch = epoch
            self.update = update
            self.totalSteps = totalSteps
            self.parameterNames = parameterNames
            self.parameterCount = parameterCount
            self.progress = progress
            self.frontierVersion = frontierVersion
        }
    }

    public var manifest: Manifest
    public var parameters: [Float]
    public var firstMoment: [Float]
    public var secondMoment: [Float]

    public init(manifest: Manifest, parameters: [Float], firstMoment: [Float], secondMoment: [Float]) {
        self.manifest = manifest
        self.parameters = parameters
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
    }
}
