namespace MinRnn.IO;

/// <summary>Constants of the safetensors layout shared by the reader and the writer.</summary>
internal static class SafetensorsFormat
{
    /// <summary>Size of the little-endian unsigned header length that starts the file.</summary>
    public const int LengthPrefixBytes = 8;

    /// <summary>The reference implementation pads the header with spaces so that the data starts 8-byte aligned.</summary>
    public const int HeaderAlignment = 8;

    /// <summary>Largest header accepted, as in the reference implementation; it stops a forged length from allocating gigabytes.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Header key of the optional string-to-string metadata object; every other key is a tensor.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>The only element type MinRnn reads and writes.</summary>
    public const string Float32 = "F32";

    /// <summary>Bytes per float32 element.</summary>
    public const int Float32Bytes = sizeof(float);

    /// <summary>Every dtype the safetensors format defines, so an error can tell "valid but unsupported" from "garbage".</summary>
    public static readonly IReadOnlySet<string> KnownDtypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64",
    };

    /// <summary>
    /// Float data is copied between memory and file byte for byte, which is only correct where memory is little-endian;
    /// big-endian hosts are out of scope, so refuse them instead of silently writing byte-swapped files.
    /// </summary>
    public static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors I/O needs a little-endian host.");
    }
}
