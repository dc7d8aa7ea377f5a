// The node boxes' Fail / Recover switches: POST …/nodes/<node>/fail|recover (clusters/web/PAGE.md).
// The feed's "controls" message then tells every open page; until it does, the box shows the new state.
import { toast } from "./dom.js";

export function wireNodeSwitches(map, { api, live, failedNodes }) {
  map.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-node-action]");
    if (!button) return;
    const { node, nodeAction: action } = button.dataset;
    button.disabled = true;
    try {
      const answer = await api(`nodes/${encodeURIComponent(node)}/${action}`, { method: "POST" });
      const next = new Set(failedNodes());
      if (answer.failed) next.add(node); else next.delete(node);
      live.setFailedNodes([...next]);
      toast(answer.failed ?
        `${node}: kubelet stopped. The node turns NotReady after the node monitor grace period (50 s of cluster time) and its pods are evicted 5 min later (their default toleration): try 60×.` :
        `${node}: kubelet started again; the node reports Ready on its next status update.`, { ms: 7000 });
    } catch (error) {
      button.disabled = false;
      toast(`Could not ${action} ${node}: ${error.message}`, { error: true });
    }
  });
}
