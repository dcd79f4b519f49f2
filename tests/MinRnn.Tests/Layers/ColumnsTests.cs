using MinRnn.Layers;

namespace MinRnn.Tests.Layers;

public class ColumnsTests
{
    [Fact]
    public void CopiesABlockOfColumnsBetweenRowsOfDifferentWidths()
    {
        // Columns 2..4 of a [3, 6] matrix into columns 1..3 of a [3, 5] one.
        var source = Enumerable.Range(0, 18).Select(i => (float)i).ToArray();
        var destination = new float[15];
        Columns.Copy(source.AsSpan(2), 6, destination.AsSpan(1), 5, rows: 3, width: 3);
        Assert.Equal([0, 2, 3, 4, 0, 0, 8, 9, 10, 0, 0, 14, 15, 16, 0], destination);
    }

    [Fact]
    public void BadInputIsRefusedWithTheShapesNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => Columns.Copy(new float[12], 4, new float[12], 3, rows: 3, width: 4));
        Assert.Contains("Columns.Copy: destination's row stride 3 is below its width 4", e.Message);
        e = Assert.Throws<ArgumentException>(() => Columns.Copy(new float[9], 4, new float[12], 4, rows: 3, width: 2));
        Assert.Contains("source has 9 elements, expected at least 10 for 3 rows of 2 with stride 4", e.Message);
        var shared = new float[20];
        Assert.Throws<ArgumentException>(() => Columns.Copy(shared, 4, shared.AsSpan(2), 4, rows: 3, width: 2));
    }
}
