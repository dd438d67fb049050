/**
 * Photo and video intake: a visible "Choose a photo or video" button (keyboard users), drag-and-drop
 * onto the drop zone or the viewer, and paste from the clipboard. It hands over the File; checking it
 * is validate-file's job.
 */
export interface UploadTargets {
  input: HTMLInputElement;
  /** Buttons that open the file picker. */
  pickers: readonly HTMLElement[];
  /** Elements that accept a dropped file and highlight while one is dragged over them. */
  dropTargets: readonly HTMLElement[];
}

export function setupUpload(targets: UploadTargets, onFile: (file: File) => void): void {
  wireFileIntake(targets, onFile);

  // A file dropped next to the drop zone would otherwise make the browser navigate away to it.
  for (const type of ['dragover', 'drop'] as const) {
    window.addEventListener(type, (event) => {
      if (hasFiles(event)) event.preventDefault();
    });
  }

  window.addEventListener('paste', (event) => {
    const file = [...(event.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/') || f.type.startsWith('video/'));
    if (file) onFile(file);
  });
}

/**
 * The picker buttons and the drop targets of one intake (the editor's, or another panel's): a file
 * dropped on a target is taken by it alone, not by an intake around it.
 */
export function wireFileIntake(targets: UploadTargets, onFile: (file: File) => void): void {
  const { input } = targets;
  for (const picker of targets.pickers) picker.addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    // Reset so choosing the same file again still fires "change".
    input.value = '';
    if (file) onFile(file);
  });

  for (const target of targets.dropTargets) {
    let depth = 0; // dragenter/dragleave fire for every child element crossed
    target.addEventListener('dragenter', (event) => {
      if (!hasFiles(event)) return;
      depth++;
      target.classList.add('is-drag-over');
    });
    target.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) target.classList.remove('is-drag-over');
    });
    target.addEventListener('dragover', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    });
    target.addEventListener('drop', (event) => {
      event.preventDefault();
      event.stopPropagation();
      depth = 0;
      target.classList.remove('is-drag-over');
      const file = event.dataTransfer?.files[0];
      if (file) onFile(file);
    });
  }
}

function hasFiles(event: DragEvent): boolean {
  return event.dataTransfer?.types.includes('Files') ?? false;
}
