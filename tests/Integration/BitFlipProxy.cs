using System.Net;
using System.Net.Sockets;
using Ferry.Transfer.Framing;

namespace Ferry.Tests.Integration;

/// <summary>
/// A test-only data-channel proxy that damages data in flight: it forwards frames unchanged except
/// that it flips one bit in the payload of every Nth Data frame (headers stay intact, so the damage
/// is only visible to the payload checksum). Answers from the receiver pass through untouched.
/// </summary>
internal sealed class BitFlipProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private readonly int _target;
    private readonly int _every;
    private int _dataFrames;
    private int _flipped;

    public BitFlipProxy(int targetPort, int every)
    {
        _target = targetPort;
        _every = every;
        _listener.Start();
        _accept = Task.Run(AcceptAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Flipped => Volatile.Read(ref _flipped);

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
                pumps.Add(ForwardFramesAsync(client.GetStream(), server.GetStream()));
                pumps.Add(CopyAsync(server.GetStream(), client.GetStream()));
            }
        }
        catch (OperationCanceledException)
        {
        }
        await Task.WhenAll(pumps).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private async Task ForwardFramesAsync(Stream from, Stream to)
    {
        var header = new byte[FrameHeader.Size];
        try
        {
            // The agent's cleartext preamble comes before the frames (this proxy is on loopback, so the agent does not use TLS).
            var preamble = new byte[DataPreamble.Cleartext.Length];
            await from.ReadExactlyAsync(preamble, _stop.Token);
            await to.WriteAsync(preamble, _stop.Token);
            while (await from.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, _stop.Token) == header.Length)
            {
                var h = FrameHeader.Parse(header);
                var payload = new byte[h.PayloadLength];
                await from.ReadExactlyAsync(payload, _stop.Token);
                if (h.Type == FrameType.Data && Interlocked.Increment(ref _dataFrames) % _every == 0)
                {
                    payload[payload.Length / 2] ^= 0x04;
                    Interlocked.Increment(ref _flipped);
                }
                await to.WriteAsync(header, _stop.Token);
                await to.WriteAsync(payload, _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or EndOfStreamException)
        {
        }
        finally
        {
            to.Close();
        }
    }

    private async Task CopyAsync(Stream from, Stream to)
    {
        try
        {
            await from.CopyToAsync(to, _stop.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
        }
        finally
        {
            to.Close();
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
