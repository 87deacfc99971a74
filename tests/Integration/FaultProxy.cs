using System.Net;
using System.Net.Sockets;
using Ferry.Transfer.Framing;

namespace Ferry.Tests.Integration;

/// <summary>
/// A test-only TCP proxy in front of a receiver's data port that does to the agent's connections what
/// a bad network does: it cuts connections at random points (a reset, mid-frame as often as not),
/// delays what it forwards, and flips one payload bit of every Nth Data frame (headers stay intact,
/// so only the payload checksum can see the damage). Answers from the receiver pass through.
/// </summary>
internal sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private readonly int _target;
    private readonly FaultPlan _plan;
    private readonly Random _random;
    private int _cuts;
    private int _dataFrames;
    private int _flipped;
    private int _connections;

    public FaultProxy(int targetPort, FaultPlan plan)
    {
        _target = targetPort;
        _plan = plan;
        _random = new Random(plan.Seed);
        _listener.Start();
        _accept = Task.Run(AcceptAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Cuts => Volatile.Read(ref _cuts);

    public int Flipped => Volatile.Read(ref _flipped);

    public int Connections => Volatile.Read(ref _connections);

    private async Task AcceptAsync()
    {
        var pumps = new List<Task>();
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var server = new TcpClient();
                await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
                Interlocked.Increment(ref _connections);
                long? cutAfter = null;
                if (Cuts < _plan.Cuts)
                {
                    lock (_random)
                    {
                        cutAfter = _random.NextInt64(_plan.CutAfterMin, _plan.CutAfterMax + 1);
                    }
                }
                pumps.Add(ForwardAsync(client, server, cutAfter));
                pumps.Add(CopyAsync(server.GetStream(), client.GetStream()));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        await Task.WhenAll(pumps).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    /// <summary>Agent to receiver: frame by frame when bits are to be flipped, else as bytes; reset both sides after <paramref name="cutAfter"/> bytes.</summary>
    private async Task ForwardAsync(TcpClient client, TcpClient server, long? cutAfter)
    {
        Stream from = client.GetStream(), to = server.GetStream();
        var budget = cutAfter ?? long.MaxValue;
        try
        {
            if (_plan.FlipEvery > 0)
            {
                budget = await ForwardFramesAsync(from, to, budget);
            }
            else
            {
                var buffer = new byte[64 << 10];
                int n;
                while (budget > 0 && (n = await from.ReadAsync(buffer, _stop.Token)) > 0)
                {
                    var take = (int)Math.Min(n, budget);
                    await DelayAsync();
                    await to.WriteAsync(buffer.AsMemory(0, take), _stop.Token);
                    budget -= take;
                }
            }
            if (budget <= 0 && ClaimCut())
            {
                Reset(client);
                Reset(server);
                return;
            }
            if (budget <= 0)
            {
                // The plan's cuts were all made meanwhile: this connection lives on.
                await from.CopyToAsync(to, _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or EndOfStreamException or ObjectDisposedException)
        {
        }
        finally
        {
            to.Close();
        }
    }

    /// <summary>Takes one of the plan's cuts; false when they are all made (connections run concurrently).</summary>
    private bool ClaimCut()
    {
        int made;
        do
        {
            made = Volatile.Read(ref _cuts);
            if (made >= _plan.Cuts)
            {
                return false;
            }
        }
        while (Interlocked.CompareExchange(ref _cuts, made + 1, made) != made);
        return true;
    }

    private async Task<long> ForwardFramesAsync(Stream from, Stream to, long budget)
    {
        // The agent's cleartext preamble comes before the frames (on loopback the agent does not use TLS).
        var preamble = new byte[DataPreamble.Cleartext.Length];
        await from.ReadExactlyAsync(preamble, _stop.Token);
        await to.WriteAsync(preamble, _stop.Token);
        budget -= preamble.Length;
        var header = new byte[FrameHeader.Size];
        while (budget > 0 && await from.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, _stop.Token) == header.Length)
        {
            var h = FrameHeader.Parse(header);
            var payload = new byte[h.PayloadLength];
            await from.ReadExactlyAsync(payload, _stop.Token);
            if (h.Type == FrameType.Data && Interlocked.Increment(ref _dataFrames) % _plan.FlipEvery == 0)
            {
                payload[payload.Length / 2] ^= 0x04;
                Interlocked.Increment(ref _flipped);
            }
            await DelayAsync();
            await to.WriteAsync(header, _stop.Token);
            await to.WriteAsync(payload, _stop.Token);
            budget -= header.Length + payload.Length;
        }
        return budget;
    }

    private async Task CopyAsync(Stream from, Stream to)
    {
        try
        {
            var buffer = new byte[16 << 10];
            int n;
            while ((n = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                await DelayAsync();
                await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            to.Close();
        }
    }

    private Task DelayAsync() => _plan.Latency > TimeSpan.Zero ? Task.Delay(_plan.Latency, _stop.Token) : Task.CompletedTask;

    /// <summary>Closes with a reset (linger 0), as a dropped link or a crashed middlebox looks to both ends.</summary>
    private static void Reset(TcpClient connection)
    {
        try
        {
            connection.Client.LingerState = new LingerOption(true, 0);
            connection.Client.Close();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accept;
        _stop.Dispose();
    }
}
